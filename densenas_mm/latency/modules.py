"""The module, input and setting of one latency-table measurement.

A table entry measures exactly the module :func:`build_module` builds (with
:func:`~densenas_mm.search_space.ops.build_op`, affine BN as in derived
nets), so the table, the derived ``DenseNASNet`` and the FLOPs counts all
describe the same computation.
"""
import torch
import torch.nn as nn

from densenas_mm.search_space.ops import build_op
from .signature import OpSignature

TORCH_DTYPES = dict(
    float32=torch.float32,
    float16=torch.float16,
    bfloat16=torch.bfloat16,
    float64=torch.float64)


def build_module(sig: OpSignature, act: str = 'relu6') -> nn.Module:
    """Build the module a signature names (affine BN, as in derived nets).

    Args:
        sig (OpSignature): The signature.
        act (str): Activation of the stem conv and ``conv1_1``.

    Returns:
        nn.Module: The module, mapping ``(B, c_in, h, w)`` to its output.
    """
    return build_op(
        sig.op, sig.c_in, sig.c_out, sig.stride, affine=True, act=act)


def make_input(sig: OpSignature, device: str = 'cpu') -> torch.Tensor:
    """A random input of the signature's shape, dtype and memory format."""
    x = torch.randn(
        sig.batch_size, sig.c_in, sig.h, sig.w,
        device=device).to(TORCH_DTYPES[sig.dtype])
    if sig.memory_format == 'channels_last':
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def prepare(module: nn.Module,
            sig: OpSignature,
            device: str = 'cpu') -> nn.Module:
    """Move ``module`` to the device / dtype / memory format, eval mode."""
    module = module.to(device=device, dtype=TORCH_DTYPES[sig.dtype])
    if sig.memory_format == 'channels_last':
        module = module.to(memory_format=torch.channels_last)
    return module.eval()
