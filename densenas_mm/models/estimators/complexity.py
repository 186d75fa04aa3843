"""The one FLOPs / params counter of densenas_mm.

Counting follows the DenseNAS paper: mult-adds of convolutions and fully
connected layers only (BN, activations, pooling, upsampling and additions
are not counted: :data:`NOT_COUNTED`), measured by mmrazor's counters on a
forward pass; parameters are all learnable parameters (``numel``, affine BN
included). Everything that reports FLOPs or params -- the cost of every
candidate op during the search (:func:`signature_complexity`, on the module
:func:`~densenas_mm.search_space.ops.build_op` builds), derived nets, plain
mmcls models -- is counted by :func:`count_complexity`.
"""
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, Sequence, Tuple

import torch
import torch.nn as nn
from mmrazor.models.task_modules.estimators.counters.op_counters import \
    Conv2dCounter
from mmrazor.registry import TASK_UTILS as MMRAZOR_TASK_UTILS

from densenas_mm.latency.signature import OpSignature
from densenas_mm.search_space.ops import build_op

#: mmrazor counters of what the paper's mult-adds leave out.
NOT_COUNTED = [
    'BatchNorm1dCounter', 'BatchNorm2dCounter', 'BatchNorm3dCounter',
    'ReLUCounter', 'ReLU6Counter', 'PReLUCounter', 'ELUCounter',
    'LeakyReLUCounter', 'AvgPool1dCounter', 'AvgPool2dCounter',
    'AvgPool3dCounter', 'MaxPool1dCounter', 'MaxPool2dCounter',
    'MaxPool3dCounter', 'AdaptiveAvgPool1dCounter', 'AdaptiveAvgPool2dCounter',
    'AdaptiveAvgPool3dCounter', 'AdaptiveMaxPool1dCounter',
    'AdaptiveMaxPool2dCounter', 'AdaptiveMaxPool3dCounter', 'UpsampleCounter'
]


@MMRAZOR_TASK_UTILS.register_module()
class DepthwiseConv2dCounter(Conv2dCounter):
    """mmrazor's counter of :class:`~densenas_mm.search_space.depthwise.
    DepthwiseConv2d` (counted as the ``nn.Conv2d`` it is; mmrazor looks
    counters up by class name)."""


@dataclass
class Complexity:
    """Mult-adds and parameters of one forward pass, per image.

    Attributes:
        macs (float): Conv + linear mult-adds.
        params (int): Learnable parameters.
        parts (dict[str, tuple[float, int]]): ``(macs, params)`` of the
            submodules asked for, by module name.
    """
    macs: float
    params: int
    parts: Dict[str, Tuple[float, int]] = field(default_factory=dict)


def count_complexity(model: nn.Module,
                     input_shape: Sequence[int],
                     parts: Sequence[str] = ()) -> Complexity:
    """Count ``model``'s mult-adds (one forward) and parameters.

    Args:
        model (nn.Module): Called as ``model(x)``; an mmcls classifier runs
            in ``'tensor'`` mode. Its training mode is restored afterwards.
        input_shape (Sequence[int]): ``(N, C, H, W)``; counts are per image.
        parts (Sequence[str]): Submodule names to report separately.

    Returns:
        Complexity: Totals and the parts.
    """
    from mmrazor.models.task_modules.estimators.counters import \
        get_model_flops_params
    names = dict(model.named_modules())
    missing = [p for p in parts if p not in names]
    if missing:
        raise ValueError(f'no submodules {missing} in the model')
    was_training = model.training
    try:
        with torch.no_grad():
            counted = get_model_flops_params(
                model,
                input_shape=tuple(input_shape),
                spec_modules=[''] + list(parts),
                disabled_counters=NOT_COUNTED,
                units=None,
                seperate_return=True)
    finally:
        model.train(was_training)

    def numel(module: nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    return Complexity(
        macs=float(counted['']['flops']),
        params=numel(model),
        parts={
            p: (float(counted[p]['flops']), numel(names[p]))
            for p in parts
        })


@lru_cache(maxsize=None)
def _op_complexity(op: str, c_in: int, c_out: int, stride: int, h: int,
                   w: int) -> Tuple[float, int]:
    module = build_op(op, c_in, c_out, stride, affine=True)
    result = count_complexity(module, (1, c_in, h, w))
    return result.macs, result.params


def signature_complexity(sig: OpSignature) -> Tuple[float, int]:
    """``(mult-adds, params)`` per image of the module a signature names
    (affine BN, as in derived nets); cached per shape."""
    return _op_complexity(sig.op, sig.c_in, sig.c_out, sig.stride, sig.h,
                          sig.w)


def signature_flops(sig: OpSignature) -> float:
    """Mult-adds of ``sig`` per image."""
    return signature_complexity(sig)[0]


def signature_params(sig: OpSignature) -> float:
    """Parameters of ``sig`` (affine BN)."""
    return float(signature_complexity(sig)[1])
