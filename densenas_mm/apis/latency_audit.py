"""Audit: LUT-predicted vs measured latency of a derived net.

The measured net is the derived ``DenseNASNet`` itself (stem, blocks of head
+ stacking ops, terminal ``conv1_1``) followed by the ``classifier`` op
(pooling + linear), all built by the one op builder the latency table
measures with. Each part is timed on its own at its input shape, then the
whole net end to end; the table predicts each part as the sum of its ops'
entries.
"""
from collections import OrderedDict
from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

from densenas_mm.latency import LatencyTable, arch_parts, make_input, prepare
from densenas_mm.latency.measure import check_device, device_name, time_module
from densenas_mm.latency.signature import OpSignature
from densenas_mm.models.backbones import DenseNASNet
from densenas_mm.search_space import CLASSIFIER, build_op
from densenas_mm.structures import DerivedArch


@dataclass
class AuditRow:
    """One line of an audit.

    Attributes:
        name (str): Part name (``stem``, ``block3_node7``, ..., ``whole net``).
        predicted (float): LUT prediction in ms.
        measured (float): Measured mean in ms.
        std (float): Standard deviation of single measured runs in ms.
    """
    name: str
    predicted: float
    measured: float
    std: float = 0.0

    @property
    def rel_error(self) -> float:
        """(predicted - measured) / measured."""
        return (self.predicted - self.measured) / self.measured


def audit_net(
    arch: DerivedArch,
    batch_size: int = 1,
    dtype: str = 'float32',
    memory_format: str = 'contiguous'
) -> Tuple[nn.Sequential, List[Tuple[str, List[OpSignature]]]]:
    """The derived net as an ``nn.Sequential`` of its latency-table parts.

    Args:
        arch (DerivedArch): The net.
        batch_size (int): Batch size of the returned signatures.
        dtype (str): Dtype of the returned signatures.
        memory_format (str): Memory format of the returned signatures.

    Returns:
        tuple: ``(net, parts)``: the ``DenseNASNet``'s stem, blocks and
        terminal plus the classifier op, as named children, and the
        signatures of each part (:func:`~densenas_mm.latency.arch_parts`).
    """
    parts = arch_parts(arch, batch_size, dtype, memory_format)
    net = DenseNASNet(arch)
    modules = [net.stem] + list(net.blocks)
    if net.terminal is not None:
        modules.append(net.terminal)
    modules.append(
        build_op(CLASSIFIER, arch.out_channels, arch.num_classes, act=arch.act))
    return nn.Sequential(
        OrderedDict((name, m) for (name, _), m in zip(parts, modules))), parts


def audit_arch(arch: DerivedArch,
               table: LatencyTable,
               device: str = 'cpu',
               batch_size: Optional[int] = None,
               warmup: int = 5,
               min_repeats: int = 5,
               max_repeats: int = 30,
               rel_std: float = 0.05) -> List[AuditRow]:
    """Predict with ``table`` and measure on ``device``.

    Args:
        arch (DerivedArch): The net.
        table (LatencyTable): The table (its dtype / memory format are used).
        device (str): Where to measure.
        batch_size (int, optional): Batch size to measure at; defaults to the
            table's (a different one warns: the prediction is for the
            table's).
        warmup (int): Untimed calls per timing.
        min_repeats (int): Timed calls at least.
        max_repeats (int): Timed calls at most.
        rel_std (float): Target relative standard error of each mean.

    Returns:
        list[AuditRow]: One row per part, then ``sum of parts`` and
        ``whole net``.

    Raises:
        LatencyTableError: If the table lacks an op of the net.
    """
    device = check_device(device)
    batch_size = batch_size or table.batch_size
    table.check_target(device_name(device), batch_size)
    net, parts = audit_net(arch, table.batch_size, table.dtype,
                           table.memory_format)
    table.require([s for _, sigs in parts for s in sigs],
                  f'architecture {arch.space or ""}'.strip())
    timing = dict(
        warmup=warmup,
        min_repeats=min_repeats,
        max_repeats=max_repeats,
        rel_std=rel_std)
    torch.manual_seed(0)
    rows = []
    for (name, sigs), module in zip(parts, net.children()):
        first = sigs[0].with_setting(batch_size, table.dtype,
                                     table.memory_format)
        module = prepare(module, first, device)
        mean, std, _ = time_module(module, make_input(first, device), **timing)
        rows.append(
            AuditRow(name, sum(table.latency(s) for s in sigs), mean, std))
    rows.append(
        AuditRow('sum of parts', sum(r.predicted for r in rows),
                 sum(r.measured for r in rows)))
    stem = parts[0][1][0].with_setting(batch_size, table.dtype,
                                       table.memory_format)
    mean, std, _ = time_module(
        prepare(net, stem, device), make_input(stem, device), **timing)
    rows.append(AuditRow('whole net', rows[-1].predicted, mean, std))
    return rows


def format_audit(rows: List[AuditRow]) -> str:
    """A plain-text table of audit rows."""
    lines = [
        f'{"part":<16}{"LUT ms":>11}{"measured ms":>13}'
        f'{"std ms":>9}{"rel. error":>12}'
    ]
    for row in rows:
        aggregate = row.name == 'sum of parts'
        if aggregate:
            lines.append('-' * len(lines[0]))
        std = f'{"-":>9}' if aggregate else f'{row.std:>9.3f}'
        lines.append(f'{row.name:<16}{row.predicted:>11.3f}'
                     f'{row.measured:>13.3f}{std}'
                     f'{100 * row.rel_error:>+11.1f}%')
    return '\n'.join(lines)
