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
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from densenas_mm.latency import (LatencyTable, arch_parts, make_input, prepare,
                                 resolve_clock, time_modules)
from densenas_mm.latency.measure import (check_device, device_name,
                                         match_allocator)
from densenas_mm.latency.ort_backend import on_backend, timing_backend
from densenas_mm.latency.signature import OpSignature
from densenas_mm.models.backbones import DenseNASNet
from densenas_mm.search_space import CLASSIFIER, build_op
from densenas_mm.structures import DerivedArch
from densenas_mm.utils.rounds import (DEFAULT_STATISTIC, AgreedRounds,
                                      measure_until_agreed)


@dataclass
class AuditRow:
    """One line of an audit.

    Attributes:
        name (str): Part name (``stem``, ``block3_node7``, ..., ``whole net``).
        predicted (float): LUT prediction in ms.
        measured (float): Measured latency in ms (the table's statistic of
            the rounds).
        noise (float, optional): Relative uncertainty of ``measured`` from
            its rounds (``RoundStats.rel_err``; None for one round or the
            sum of parts).
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
        return self.noise is not None and abs(self.rel_error) <= 2 * self.noise


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
        build_op(
            CLASSIFIER, arch.out_channels, arch.num_classes, act=arch.act))
    return nn.Sequential(
        OrderedDict((name, m) for (name, _), m in zip(parts, modules))), parts


def measure_like_table(table: LatencyTable,
                       items: Dict[str, Tuple[nn.Module, torch.Tensor]],
                       device: str = 'cpu',
                       rounds: int = 7,
                       warmup: int = 2,
                       min_repeats: int = 5,
                       max_repeats: int = 20,
                       max_seconds: Optional[float] = 0.1,
                       clock: Optional[str] = None,
                       tolerance: float = 0.05,
                       extra_rounds: int = 6,
                       calls_per_sample: Optional[int] = None) -> AgreedRounds:
    """Time modules the way ``table`` was measured, in interleaved rounds.

    The table's clock, calls per sample, allocator setting, dropping of
    interrupted calls and statistic are used (on a CUDA device the device is
    made current and, by default, timed with CUDA events); items whose rounds disagree get extra rounds
    (:func:`~densenas_mm.utils.rounds.measure_until_agreed`).

    Args:
        table (LatencyTable): The table whose setting to follow.
        items (dict): Name -> ``(module, input)`` on ``device``.
        device (str): Where they are.
        rounds (int): Interleaved rounds of every item.
        warmup (int): Untimed calls per round.
        min_repeats (int): Timed calls per round at least.
        max_repeats (int): Timed calls per round at most.
        max_seconds (float, optional): Cap on the timed calls of a round.
        clock (str, optional): ``'auto'`` / ``'cuda'`` / ``'thread'`` /
            ``'wall'``; default the table's clock (``'auto'`` for a table
            without one, and where the table's clock cannot time
            ``device``, e.g. a CPU table's on CUDA).
        tolerance (float): Agreement tolerance of the rounds.
        extra_rounds (int): Most rounds added to an item that disagrees.
        calls_per_sample (int, optional): Back-to-back calls per sample;
            default the table's (else the clock's default).

    Returns:
        AgreedRounds: Name -> round statistics, and the extra rounds spent.
    """
    timing = dict(
        warmup=warmup,
        min_repeats=min_repeats,
        max_repeats=max_repeats,
        max_seconds=max_seconds,
        clock=_clock_like(table, clock, device),
        drop_preempted=bool(table.metadata.get('drop_preempted', True)),
        calls_per_sample=calls_per_sample
        or table.metadata.get('calls_per_sample'))
    match_allocator(table.metadata)
    return measure_until_agreed(
        lambda keys, n: time_modules({k: items[k]
                                      for k in keys}, n, **timing),
        list(items), rounds, tolerance, extra_rounds,
        table.metadata.get('statistic', DEFAULT_STATISTIC))


def _clock_like(table: LatencyTable, clock: Optional[str], device: str) -> str:
    """``clock`` resolved for ``device``; by default the table's clock,
    or ``'auto'`` where the table's cannot time ``device`` (the thread
    clock on CUDA, the CUDA clock on the CPU)."""
    if clock:
        return resolve_clock(clock, device)
    clock = table.metadata.get('clock', 'auto')
    on_cuda = device.split(':')[0] == 'cuda'
    if (clock == 'cuda') != on_cuda and clock in ('cuda', 'thread'):
        clock = 'auto'
    return resolve_clock(clock, device)


def audit_arch(arch: DerivedArch,
               table: LatencyTable,
               device: str = 'cpu',
               batch_size: Optional[int] = None,
               calibrated: bool = True,
               backend: Optional[str] = None,
               **timing: Any) -> List[AuditRow]:
    """Predict with ``table`` and measure on ``device``.

    Every part and the whole net are timed in interleaved rounds the way
    the table was measured (:func:`measure_like_table`).

    Args:
        arch (DerivedArch): The net.
        table (LatencyTable): The table (its dtype / memory format and its
            measurement setting are used).
        device (str): Where to measure.
        batch_size (int, optional): Batch size to measure at; defaults to the
            table's (a different one warns: the prediction is for the
            table's).
        calibrated (bool): Predict with the table's calibration where it
            has one (each op ``scale * entry + per_op``, the per-net
            ``constant`` on the stem row).
        backend (str, optional): Timing backend; must be the table's
            (default).
        **timing: Arguments of :func:`measure_like_table` (``rounds``,
            ``min_repeats``, ``clock``, ...).

    Returns:
        list[AuditRow]: One row per part, then ``sum of parts`` and
        ``whole net``.

    Raises:
        LatencyTableError: If the table lacks an op of the net, or was timed
            with another backend.
    """
    device = check_device(device)
    backend = timing_backend(table.metadata, table.source, backend)
    batch_size = batch_size or table.batch_size
    table.check_target(device_name(device), batch_size)
    net, parts = audit_net(arch, table.batch_size, table.dtype,
                           table.memory_format)
    table.require([s for _, sigs in parts for s in sigs],
                  f'architecture {arch.space or ""}'.strip())
    torch.manual_seed(0)
    items = {}
    for (name, sigs), module in zip(parts, net.children()):
        first = sigs[0].with_setting(batch_size, table.dtype,
                                     table.memory_format)
        x = make_input(first, device)
        items[name] = (on_backend(prepare(module, first, device), x,
                                  backend), x)
    stem = first_sig(parts, batch_size, table)
    x = make_input(stem, device)
    items['whole net'] = (on_backend(prepare(net, stem, device), x,
                                     backend), x)
    result = measure_like_table(table, items, device, **timing)
    rows = []
    extra = table.net_constant(calibrated)
    for k, (name, sigs) in enumerate(parts):
        stats = result.stats[name]
        rows.append(
            AuditRow(name,
                     sum(table.latency(s, calibrated)
                         for s in sigs) + (extra if k == 0 else 0.0),
                     stats.value, stats.rel_err, list(stats.per_round)))
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

    ``noise`` is the relative uncertainty of a measured value from its
    rounds (:attr:`~densenas_mm.utils.rounds.RoundStats.rel_err`); a ``*``
    marks a relative error within twice the noise.
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
    lines.append('noise: uncertainty of the measured value from its rounds '
                 '(minimum: gap to the next lowest round); *: error within '
                 '2x noise')
    return '\n'.join(lines)
