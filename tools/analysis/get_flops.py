"""Params and multiply-adds (MACs) of the classifier a config builds.

Counts like the DenseNAS paper: MACs of convolutions and fully connected
layers only (BN, activations, pooling and additions are not counted);
params are all learnable parameters (BN affine included). The total is
cross-checked against mmrazor's ``ResourceEstimator`` on the same model.

Example:
    python tools/analysis/get_flops.py \
        configs/densenas/subnets/densenas-c_in1k.py --shape 224 224 --per-block
"""
import argparse
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

#: mmrazor counters that count BN / activation / pooling "FLOPs", which the
#: DenseNAS figures leave out.
NON_MAC_COUNTERS = [
    'BatchNorm1dCounter', 'BatchNorm2dCounter', 'BatchNorm3dCounter',
    'ReLUCounter', 'ReLU6Counter', 'PReLUCounter', 'ELUCounter',
    'LeakyReLUCounter', 'AvgPool1dCounter', 'AvgPool2dCounter',
    'AvgPool3dCounter', 'MaxPool1dCounter', 'MaxPool2dCounter',
    'MaxPool3dCounter', 'AdaptiveAvgPool1dCounter', 'AdaptiveAvgPool2dCounter',
    'AdaptiveAvgPool3dCounter', 'AdaptiveMaxPool1dCounter',
    'AdaptiveMaxPool2dCounter', 'AdaptiveMaxPool3dCounter', 'UpsampleCounter'
]


def _groups(model: nn.Module) -> List[Tuple[str, str]]:
    """(module name prefix, label) of the parts to report per block."""
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


def count_complexity(
    model: nn.Module, input_shape: Sequence[int] = (1, 3, 224, 224)
) -> Dict[str, object]:
    """Count params and conv/linear MACs of one forward pass.

    Args:
        model (nn.Module): The model; called as ``model(x)`` (an mmcls
            classifier runs in ``'tensor'`` mode).
        input_shape (Sequence[int]): ``(N, C, H, W)``; counts are per image.

    Returns:
        dict: ``params``, ``macs`` (totals, as ints) and ``per_block``: a
        list of ``{'name', 'label', 'params', 'macs', 'out_shape'}``.
    """
    macs: Dict[str, int] = {}
    shapes: Dict[str, Tuple[int, ...]] = {}
    batch = input_shape[0]

    def hook(name: str):

        def fn(module: nn.Module, inputs, output) -> None:
            if isinstance(module, nn.Conv2d):
                per_pos = module.weight[0].numel() * module.out_channels
                count = per_pos * output.shape[2] * output.shape[3]
            else:
                count = module.in_features * module.out_features * (
                    output.numel() // output.shape[-1] // batch)
            macs[name] = macs.get(name, 0) + int(count)

        return fn

    handles = [
        m.register_forward_hook(hook(n)) for n, m in model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    parts = _groups(model)
    for prefix, _ in parts:
        mod = model.get_submodule(prefix)
        handles.append(
            mod.register_forward_hook(
                lambda m, i, o, p=prefix: shapes.__setitem__(p, _shape_of(o))))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(*input_shape))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    params = {n: p.numel() for n, p in model.named_parameters()}
    per_block = []
    for prefix, label in parts:
        per_block.append(
            dict(
                name=prefix,
                label=label,
                params=sum(v for k, v in params.items()
                           if k.startswith(prefix + '.')),
                macs=sum(v for k, v in macs.items()
                         if k == prefix or k.startswith(prefix + '.')),
                out_shape=shapes.get(prefix)))
    return dict(
        params=sum(params.values()),
        macs=sum(macs.values()),
        per_block=per_block)


def _shape_of(output) -> Optional[Tuple[int, ...]]:
    while isinstance(output, (tuple, list)) and output:
        output = output[-1]
    return tuple(output.shape[1:]) if torch.is_tensor(output) else None


def mmrazor_complexity(
    model: nn.Module, input_shape: Sequence[int] = (1, 3, 224, 224)
) -> Dict[str, int]:
    """The same totals from mmrazor's ``ResourceEstimator``.

    BN / activation / pooling counters are disabled for the MACs (as in the
    paper); params come from a run with every counter (all parameters).

    Returns:
        dict: ``macs`` and ``params`` as integer counts (not millions).
    """
    from mmrazor.models.task_modules import ResourceEstimator
    was_training = model.training
    # Units of 1e3 with mmrazor's 3 decimals keep the counts exact.
    units = dict(flops='K', params='K')
    est = ResourceEstimator(
        input_shape=tuple(input_shape), units=units, as_strings=False)
    shape = dict(input_shape=tuple(input_shape), units=units)
    macs = est.estimate(
        model,
        flops_params_cfg=dict(shape,
                              disabled_counters=NON_MAC_COUNTERS))['flops']
    params = est.estimate(model, flops_params_cfg=shape)['params']
    model.train(was_training)  # the estimator leaves the model in eval mode
    return dict(macs=round(macs * 1e3), params=round(params * 1e3))


def format_report(result: Dict[str, object], per_block: bool) -> str:
    """Text table of :func:`count_complexity`'s result."""
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


def parse_args() -> argparse.Namespace:
    """Command line."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[224, 224],
        help='input H W (one value: square)')
    parser.add_argument(
        '--per-block', action='store_true', help='one row per block')
    parser.add_argument(
        '--no-check',
        action='store_true',
        help="skip the cross-check with mmrazor's ResourceEstimator")
    parser.add_argument('--json', help='also write the result as JSON here')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.backbone.arch=a.yaml')
    return parser.parse_args()


def main() -> None:
    """Entry point."""
    args = parse_args()
    from densenas_mm.models.converters.model_io import build_classifier
    from densenas_mm.utils.io import dump_json_atomic
    if len(args.shape) not in (1, 2):
        raise SystemExit('--shape takes H W or a single size')
    h, w = (args.shape * 2)[:2]
    model = build_classifier(args.config, cfg_options=args.cfg_options)
    channels = getattr(getattr(model, 'backbone', None), 'in_channels', 3)
    shape = (1, channels, h, w)
    result = count_complexity(model, shape)
    print(f'input shape: {shape}')
    print(format_report(result, args.per_block))
    if not args.no_check:
        ref = mmrazor_complexity(model, shape)
        result['mmrazor'] = ref
        print(f'mmrazor ResourceEstimator: params {ref["params"] / 1e6:.3f} '
              f'M, MACs {ref["macs"] / 1e6:.2f} M')
        if (int(ref['macs']) != result['macs']
                or int(ref['params']) != result['params']):
            print('WARNING: the two counts differ (a layer type only one '
                  'of them counts?)')
    if args.json:
        dump_json_atomic(dict(result, input_shape=list(shape)), args.json)


if __name__ == '__main__':
    main()
