"""Print the structure of a DenseNAS search space.

Usage::

    python tools/analysis/search_space_info.py \
        configs/_base_/search_spaces/densenas_mbv2_224.py [--blocks]

Prints blocks, edges, head branches, stacking layers, distinct paths and the
supernet's parameter count (the paper's MobileNetV2 space gives 16 blocks,
54 edges, 51 head branches, 39 stacking layers and 15,456 paths).
"""
import argparse

import densenas_mm  # noqa: F401  (compat fixes, registration)
from densenas_mm.search_space import SpaceGraph, search_space_from_cfg


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='space preset or search config')
    parser.add_argument(
        '--blocks', action='store_true', help='also list every block')
    parser.add_argument(
        '--no-params',
        action='store_true',
        help='skip building the supernet to count its parameters')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    space = search_space_from_cfg(args.config)
    graph = SpaceGraph(space)
    summary = graph.summary()
    print(f'search space: {space.name} ({space.family}, input '
          f'{space.input_size}x{space.input_size}, {space.num_classes} '
          'classes)')
    print(f'  head ops ({len(space.head_ops)}): {", ".join(space.head_ops)}')
    print(f'  stack ops ({len(space.stack_ops)}): '
          f'{", ".join(space.stack_ops)}')
    for key, value in summary.items():
        print(f'  {key.replace("_", " ")}: {value:,}')
    if not args.no_params:
        from densenas_mm.models.backbones import DenseNASSupernet
        net = DenseNASSupernet(space)
        params = sum(p.numel() for p in net.parameters())
        print(f'  supernet parameters: {params / 1e6:.2f} M')
    if args.blocks:
        print('  node  width  res  stage  layers  in <- / out ->')
        for node in graph.nodes:
            print(f'  {node:4d}  {graph.widths[node]:5d}  '
                  f'{graph.resolutions[node]:3d}  {graph.stages[node]:5d}  '
                  f'{graph.num_layers[node]:6d}  {graph.incoming[node]} / '
                  f'{graph.outgoing[node]}')


if __name__ == '__main__':
    main()
