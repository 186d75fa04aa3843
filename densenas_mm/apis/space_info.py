"""The search-space tool's job (``tools/analysis/search_space_info.py``):
the structure of a DenseNAS search space as text."""
from typing import Any

from densenas_mm.search_space import SpaceGraph, search_space_from_cfg


def space_info(config: Any, blocks: bool = False,
               no_params: bool = False) -> str:
    """Blocks, edges, head branches, stacking layers, distinct paths and
    the supernet's parameter count of a search space.

    Args:
        config (str | Config): A space preset or a search config.
        blocks (bool): Also list every block (width, resolution, stage,
            layers, edges).
        no_params (bool): Skip building the supernet to count its
            parameters.

    Returns:
        str: The description.
    """
    space = search_space_from_cfg(config)
    graph = SpaceGraph(space)
    lines = [
        f'search space: {space.name} ({space.family}, input '
        f'{space.input_size}x{space.input_size}, {space.num_classes} '
        'classes)',
        f'  head ops ({len(space.head_ops)}): {", ".join(space.head_ops)}',
        f'  stack ops ({len(space.stack_ops)}): '
        f'{", ".join(space.stack_ops)}'
    ]
    lines += [
        f'  {key.replace("_", " ")}: {value:,}'
        for key, value in graph.summary().items()
    ]
    if not no_params:
        from densenas_mm.models.backbones import DenseNASSupernet
        net = DenseNASSupernet(space)
        params = sum(p.numel() for p in net.parameters())
        lines.append(f'  supernet parameters: {params / 1e6:.2f} M')
    if blocks:
        lines.append('  node  width  res  stage  layers  in <- / out ->')
        lines += [
            f'  {node:4d}  {graph.widths[node]:5d}  '
            f'{graph.resolutions[node]:3d}  {graph.stages[node]:5d}  '
            f'{graph.num_layers[node]:6d}  {graph.incoming[node]} / '
            f'{graph.outgoing[node]}' for node in graph.nodes
        ]
    return '\n'.join(lines)
