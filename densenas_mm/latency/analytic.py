"""Analytic FLOPs (mult-adds) and parameter counts of op signatures.

Counting follows the usual counters (mmrazor's, fvcore / mmengine.analysis):
a convolution costs ``k*k * C_in/groups * C_out * H_out * W_out`` mult-adds, a
linear layer ``in * out``; bias additions, BN, activations, pooling and
residual additions are not counted. Parameters are those of the modules
built by :func:`densenas_mm.search_space.ops.build_op` with affine BN (as in
derived nets): conv weights, BN weight + bias, linear weight + bias.
All numbers are per image (batch size 1), in plain units (not millions).
"""
from typing import Tuple

from densenas_mm.search_space.ops import parse_op
from .signature import CLASSIFIER, OpSignature, split_stem_op


def _out(size: int, stride: int) -> int:
    return (size - 1) // stride + 1


def conv_bn(c_in: int,
            c_out: int,
            kernel: int,
            stride: int,
            h: int,
            w: int,
            groups: int = 1,
            affine: bool = True) -> Tuple[float, float, int, int]:
    """Mult-adds and params of Conv(no bias)+BN, and the output H, W."""
    ho, wo = _out(h, stride), _out(w, stride)
    per_pos = kernel * kernel * (c_in // groups) * c_out
    params = per_pos + (2 * c_out if affine else 0)
    return float(per_pos * ho * wo), float(params), ho, wo


def op_flops_params(op: str,
                    c_in: int,
                    c_out: int,
                    stride: int,
                    h: int,
                    w: int,
                    affine: bool = True) -> Tuple[float, float]:
    """Mult-adds and parameters of one op at input ``h`` x ``w``.

    Args:
        op (str): Op name, including ``stem+...`` and ``classifier``.
        c_in (int): Input channels.
        c_out (int): Output channels.
        stride (int): Stride.
        h (int): Input height.
        w (int): Input width.
        affine (bool): Count BN weight and bias. Defaults to True.

    Returns:
        tuple[float, float]: (mult-adds, parameters), per image.
    """
    if op == CLASSIFIER:
        return float(c_in * c_out), float(c_in * c_out + c_out)
    if op.split('+')[0] == 'stem':
        flops, params, ho, wo = conv_bn(
            c_in, c_out, 3, stride, h, w, affine=affine)
        for name in split_stem_op(op):
            f, p = op_flops_params(name, c_out, c_out, 1, ho, wo, affine)
            flops, params = flops + f, params + p
        return flops, params
    spec = parse_op(op)
    parts = []
    if spec.kind == 'skip':
        return 0.0, 0.0
    if spec.kind == 'conv1x1':
        parts.append(conv_bn(c_in, c_out, 1, stride, h, w, affine=affine))
    elif spec.kind == 'mbconv':
        mid = c_in * spec.expansion
        ih, iw = h, w
        if spec.expansion != 1:
            parts.append(conv_bn(c_in, mid, 1, 1, h, w, affine=affine))
        dw = conv_bn(
            mid, mid, spec.kernel, stride, ih, iw, groups=mid, affine=affine)
        parts.append(dw)
        parts.append(conv_bn(mid, c_out, 1, 1, dw[2], dw[3], affine=affine))
    elif spec.kind in ('basic', 'bottleneck'):
        if spec.kind == 'basic':
            first = conv_bn(c_in, c_out, 3, stride, h, w, affine=affine)
            parts += [
                first,
                conv_bn(c_out, c_out, 3, 1, first[2], first[3], affine=affine)
            ]
        else:
            mid = max(c_out // 4, 1)
            parts.append(conv_bn(c_in, mid, 1, 1, h, w, affine=affine))
            mid_conv = conv_bn(mid, mid, 3, stride, h, w, affine=affine)
            parts += [
                mid_conv,
                conv_bn(
                    mid, c_out, 1, 1, mid_conv[2], mid_conv[3], affine=affine)
            ]
        if stride != 1 or c_in != c_out:
            parts.append(conv_bn(c_in, c_out, 1, stride, h, w, affine=affine))
    return (sum(p[0] for p in parts), sum(p[1] for p in parts))


def signature_flops(sig: OpSignature) -> float:
    """Mult-adds of ``sig`` per image."""
    return op_flops_params(sig.op, sig.c_in, sig.c_out, sig.stride, sig.h,
                           sig.w)[0]


def signature_params(sig: OpSignature) -> float:
    """Parameters of ``sig`` (affine BN)."""
    return op_flops_params(sig.op, sig.c_in, sig.c_out, sig.stride, sig.h,
                           sig.w)[1]
