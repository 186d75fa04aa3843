"""Params and mult-adds (MACs) of a classifier, in total and per block.

The counting is :func:`densenas_mm.models.estimators.count_complexity` (the
paper's convention: conv + linear mult-adds, all learnable parameters); this
module only chooses the parts of a model to report and formats the result.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from densenas_mm.models.estimators import count_complexity
from densenas_mm.utils.io import dump_json_atomic
from .cli import ToolOutput, resolve_input_shape
from .model_io import build_classifier, load_config


def report_parts(model: nn.Module) -> List[Tuple[str, str]]:
    """(module name, label) of the parts to report per block.

    A ``DenseNASNet`` backbone is split into stem, blocks and terminal;
    other backbones are one part; neck and head follow.
    """
    backbone = getattr(model, 'backbone', None)
    parts: List[Tuple[str, str]] = []
    if backbone is not None and hasattr(backbone, 'blocks') and hasattr(
            backbone, 'arch'):
        parts.append(('backbone.stem', 'stem'))
        for i, blk in enumerate(backbone.arch.blocks):
            ops = '+'.join([blk.head_op] + list(blk.stack_ops))
            node = f' node {blk.node}' if blk.node is not None else ''
            parts.append((f'backbone.blocks.{i}',
                          f'block {i}{node} {blk.c_in}->{blk.c_out} '
                          f's{blk.stride} {ops}'))
        if getattr(backbone, 'terminal', None) is not None:
            parts.append(('backbone.terminal', 'terminal 1x1'))
    elif backbone is not None:
        parts.append(('backbone', 'backbone'))
    for name in ('neck', 'head'):
        if getattr(model, name, None) is not None:
            parts.append((name, name))
    return parts


def _shape_of(output: Any) -> Optional[Tuple[int, ...]]:
    while isinstance(output, (tuple, list)) and output:
        output = output[-1]
    return tuple(output.shape[1:]) if torch.is_tensor(output) else None


def model_complexity(
        model: nn.Module,
        input_shape: Sequence[int] = (1, 3, 224, 224)) -> Dict[str, Any]:
    """Params and conv/linear MACs of one forward pass, with a per-part
    breakdown.

    Args:
        model (nn.Module): The model; called as ``model(x)`` (an mmcls
            classifier runs in ``'tensor'`` mode).
        input_shape (Sequence[int]): ``(N, C, H, W)``; counts are per image.

    Returns:
        dict: ``params``, ``macs`` (totals, as ints) and ``per_block``: a
        list of ``{'name', 'label', 'params', 'macs', 'out_shape'}``.
    """
    parts = report_parts(model)
    shapes: Dict[str, Optional[Tuple[int, ...]]] = {}
    handles = [
        model.get_submodule(name).register_forward_hook(
            lambda m, i, o, n=name: shapes.__setitem__(n, _shape_of(o)))
        for name, _ in parts
    ]
    try:
        counted = count_complexity(model, input_shape,
                                   [name for name, _ in parts])
    finally:
        for h in handles:
            h.remove()
    per_block = [
        dict(
            name=name,
            label=label,
            params=counted.parts[name][1],
            macs=int(round(counted.parts[name][0])),
            out_shape=shapes.get(name)) for name, label in parts
    ]
    return dict(
        params=counted.params,
        macs=int(round(counted.macs)),
        per_block=per_block)


def format_report(result: Dict[str, Any], per_block: bool) -> str:
    """Text table of :func:`model_complexity`'s result."""
    lines = []
    if per_block:
        width = max([4] + [len(r['label']) for r in result['per_block']])
        lines.append(f'{"part":<{width}} {"out shape":>12} {"params":>10} '
                     f'{"MACs":>13}')
        for row in result['per_block']:
            shape = 'x'.join(str(s) for s in row['out_shape'] or ())
            lines.append(f'{row["label"]:<{width}} {shape:>12} '
                         f'{row["params"]:>10,d} {row["macs"]:>13,d}')
    lines.append(f'params: {result["params"] / 1e6:.3f} M   MACs: '
                 f'{result["macs"] / 1e6:.2f} M (conv + linear; BN/act '
                 'not counted)')
    return '\n'.join(lines)


def complexity_report(config: str,
                      shape: Optional[Sequence[int]] = None,
                      per_block: bool = False,
                      json: Optional[str] = None,
                      cfg_options: Optional[Dict[str, Any]] = None
                      ) -> ToolOutput:
    """Params / MACs of a config's classifier for one image
    (``tools/analysis/get_flops.py``'s job).

    Args:
        config (str): Model config.
        shape (Sequence[int], optional): Input H W (one value: square);
            default: the model's own (the architecture's or space's input
            size, else the config's test pipeline's).
        per_block (bool): One row per block.
        json (str, optional): Also write the result here.
        cfg_options (dict, optional): Config overrides.

    Returns:
        ToolOutput: The report, the counts in ``result``.
    """
    cfg = load_config(config, cfg_options)
    model = build_classifier(cfg)
    shape_list, source = resolve_input_shape(model, cfg, 1, shape)
    in_shape = tuple(shape_list)
    result = model_complexity(model, in_shape)
    text = (f'input shape: {in_shape} (from {source})\n'
            f'{format_report(result, per_block)}')
    if json:
        dump_json_atomic(dict(result, input_shape=list(in_shape)), json)
    return ToolOutput(0, text, result=result)
