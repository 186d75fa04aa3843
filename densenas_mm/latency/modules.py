"""Modules for op signatures, and a measurable net built from a DerivedArch.

The latency table measures exactly the modules built here, and the audit
tool measures a net assembled from the same modules, so predicted and
measured latency describe the same computation.
"""
from collections import OrderedDict
from typing import List, Tuple

import torch
import torch.nn as nn

from densenas_mm.search_space.ops import ConvBNAct, build_op
from densenas_mm.structures import DerivedArch
from .needs import arch_parts
from .signature import CLASSIFIER, OpSignature, split_stem_op

TORCH_DTYPES = dict(
    float32=torch.float32,
    float16=torch.float16,
    bfloat16=torch.bfloat16,
    float64=torch.float64)


class Classifier(nn.Module):
    """Global average pooling + linear layer."""

    def __init__(self, c_in: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(x), 1))


def build_module(sig: OpSignature, act: str = 'relu6') -> nn.Module:
    """Build the module a signature names (affine BN, as in derived nets).

    Args:
        sig (OpSignature): The signature.
        act (str): Activation of the stem conv and ``conv1_1``.

    Returns:
        nn.Module: The module, mapping ``(B, c_in, h, w)`` to its output.
    """
    if sig.op == CLASSIFIER:
        return Classifier(sig.c_in, sig.c_out)
    if sig.op.split('+')[0] == 'stem':
        layers = [ConvBNAct(sig.c_in, sig.c_out, 3, sig.stride, act=act)]
        layers += [
            build_op(op, sig.c_out, sig.c_out, 1, affine=True, act=act)
            for op in split_stem_op(sig.op)
        ]
        return nn.Sequential(*layers)
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


def build_part(sigs: List[OpSignature], act: str) -> nn.Sequential:
    """The ops of one part (e.g. a block's head + stacking layers)."""
    return nn.Sequential(*[build_module(s, act) for s in sigs])


def build_arch_net(
    arch: DerivedArch,
    batch_size: int = 1,
    dtype: str = 'float32',
    memory_format: str = 'contiguous'
) -> Tuple[nn.Sequential, List[Tuple[str, List[OpSignature]]]]:
    """A plain ``nn.Sequential`` net of a derived architecture.

    Stem, blocks (head + stacking ops), terminal ``conv1_1`` (when kept),
    pooling + classifier, each a named child, built with
    :func:`build_module` so it is what a latency table measures.

    Args:
        arch (DerivedArch): The net.
        batch_size (int): Batch size of the returned signatures.
        dtype (str): Dtype of the returned signatures.
        memory_format (str): Memory format of the returned signatures.

    Returns:
        tuple: ``(net, parts)`` with ``parts`` as from
        :func:`~densenas_mm.latency.needs.arch_parts`.
    """
    parts = arch_parts(arch, batch_size, dtype, memory_format)
    net = nn.Sequential(
        OrderedDict(
            (name, build_part(sigs, arch.act)) for name, sigs in parts))
    return net, parts
