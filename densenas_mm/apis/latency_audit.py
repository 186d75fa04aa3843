"""Audit: LUT-predicted vs measured latency of a derived net.

The measured net is the derived ``DenseNASNet`` itself (stem, blocks of head
+ stacking ops, terminal ``conv1_1``) followed by the ``classifier`` op
(pooling + linear), all built by the one op builder the latency table
measures with. Each part at its input shape and the whole net end to end
are timed in interleaved rounds, with the table's clock and statistic
(parts and net whose rounds disagree get extra rounds); the table predicts
each part as the sum of its ops' entries. Every measured row carries its own
noise: the robust relative standard error of its rounds.
"""
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

from densenas_mm.latency import (LatencyTable, arch_parts, make_input,
                                 prepare, resolve_clock, time_modules)
from densenas_mm.latency.measure import (check_device, device_name,
                                         match_allocator)
from densenas_mm.latency.signature import OpSignature
from densenas_mm.models.backbones import DenseNASNet
from densenas_mm.search_space import CLASSIFIER, build_op
from densenas_mm.structures import DerivedArch
from densenas_mm.utils.rounds import DEFAULT_STATISTIC, measure_until_agreed


@dataclass
class AuditRow:
    """One line of an audit.

    Attributes:
        name (str): Part name (``stem``, ``block3_node7``, ..., ``whole net``).
        predicted (float): LUT prediction in ms.
        measured (float): Measured latency in ms (the table's statistic of
            the rounds).
        noise (float, optional): Robust relative standard error of the
            measured rounds (None for one round or the sum of parts).
        rounds (list[float]): The per-round values behind ``measured``.
    """
    name: str
    predicted: float
    measured: float
    noise: Optional[float] = None
    rounds: List[float] = field(default_factory=list)

    @property
    def rel_error(self) -> float:
        """(predicted - measured) / measured."""
        return (self.predicted - self.measured) / self.measured

    @property
    def within_noise(self) -> bool:
        """Whether ``|rel_error|`` is within twice the measured noise."""
        return self.noise is not None and abs(
            self.rel_error) <= 2 * self.noise


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
               rounds: int = 5,
               warmup: int = 2,
               min_repeats: int = 3,
               max_repeats: int = 10,
               max_seconds: Optional[float] = 0.1,
               clock: Optional[str] = None,
               tolerance: float = 0.05,
               extra_rounds: int = 4) -> List[AuditRow]:
    """Predict with ``table`` and measure on ``device``.

    Args:
        arch (DerivedArch): The net.
        table (LatencyTable): The table (its dtype / memory format, clock
            and statistic are used).
        device (str): Where to measure.
        batch_size (int, optional): Batch size to measure at; defaults to the
            table's (a different one warns: the prediction is for the
            table's).
        rounds (int): Interleaved rounds of every part and the whole net.
        warmup (int): Untimed calls per round.
        min_repeats (int): Timed calls per round at least.
        max_repeats (int): Timed calls per round at most.
        max_seconds (float, optional): Cap on the timed calls of a round.
        clock (str, optional): ``'auto'`` / ``'thread'`` / ``'wall'``;
            default the table's clock (``'auto'`` for a table without one).
        tolerance (float): Rounds agree within this robust relative
            standard error; parts that do not get extra rounds.
        extra_rounds (int): Most rounds added to a part that disagrees.

    Returns:
        list[AuditRow]: One row per part, then ``sum of parts`` and
        ``whole net``.

    Raises:
        LatencyTableError: If the table lacks an op of the net.
    """
    device = check_device(device)
    batch_size = batch_size or table.batch_size
    table.check_target(device_name(device), batch_size)
    clock = resolve_clock(clock or table.metadata.get('clock', 'auto'),
                          device)
    match_allocator(table.metadata)
    statistic = table.metadata.get('statistic', DEFAULT_STATISTIC)
    net, parts = audit_net(arch, table.batch_size, table.dtype,
                           table.memory_format)
    table.require([s for _, sigs in parts for s in sigs],
                  f'architecture {arch.space or ""}'.strip())
    torch.manual_seed(0)
    items = {}
    for (name, sigs), module in zip(parts, net.children()):
        first = sigs[0].with_setting(batch_size, table.dtype,
                                     table.memory_format)
        items[name] = (prepare(module, first, device),
                       make_input(first, device))
    stem = first_sig(parts, batch_size, table)
    items['whole net'] = (prepare(net, stem, device), make_input(stem, device))
    timing = dict(
        warmup=warmup,
        min_repeats=min_repeats,
        max_repeats=max_repeats,
        max_seconds=max_seconds,
        clock=clock)
    result = measure_until_agreed(
        lambda keys, n: time_modules({k: items[k]
                                      for k in keys}, n, **timing),
        list(items), rounds, tolerance, extra_rounds, statistic)
    rows = []
    for name, sigs in parts:
        stats = result.stats[name]
        rows.append(
            AuditRow(name, sum(table.latency(s) for s in sigs), stats.value,
                     stats.rel_err, list(stats.per_round)))
    rows.append(
        AuditRow('sum of parts', sum(r.predicted for r in rows),
                 sum(r.measured for r in rows)))
    whole = result.stats['whole net']
    rows.append(
        AuditRow('whole net', rows[-1].predicted, whole.value, whole.rel_err,
                 list(whole.per_round)))
    return rows


def first_sig(parts: List[Tuple[str, List[OpSignature]]], batch_size: int,
              table: LatencyTable) -> OpSignature:
    """The stem's signature at ``batch_size`` in the table's setting (the
    input of the whole net)."""
    return parts[0][1][0].with_setting(batch_size, table.dtype,
                                       table.memory_format)


def format_audit(rows: List[AuditRow]) -> str:
    """A plain-text table of audit rows.

    ``noise`` is the robust relative standard error of the measured rounds;
    a ``*`` marks a relative error within twice the noise.
    """
    lines = [
        f'{"part":<16}{"LUT ms":>11}{"measured ms":>13}'
        f'{"noise":>9}{"rel. error":>12}'
    ]
    for row in rows:
        if row.name == 'sum of parts':
            lines.append('-' * len(lines[0]))
        noise = ('-' if row.noise is None else f'{100 * row.noise:.1f}%')
        mark = ' *' if row.within_noise else ''
        lines.append(f'{row.name:<16}{row.predicted:>11.3f}'
                     f'{row.measured:>13.3f}{noise:>9}'
                     f'{100 * row.rel_error:>+11.1f}%{mark}')
    lines.append('noise: robust relative standard error of the measured '
                 'rounds; *: error within 2x noise')
    return '\n'.join(lines)
