"""How well latency tables hold: build-to-build agreement and rank agreement.

- :func:`compare_tables`: two tables of the same setting, entry by entry
  (``max / min - 1`` of the two values) and on the sum over the paths of
  given architectures.
- :func:`rank_agreement`: LUT-predicted vs measured whole-net latency of
  several architectures, measured in interleaved rounds with the table's
  statistic; Kendall's tau and Spearman's rho of the two orders.
- :func:`random_archs`: random architectures of a search config's space
  (:mod:`.random_arch`), the nets these checks use.
- :func:`measure_nets`, :func:`prepare_timing`, :func:`where_now`: timing
  whole nets like the table, for the calibration and level jobs too.
"""
import os
import platform
import statistics
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from densenas_mm.latency import (LatencyTable, arch_parts, device_name,
                                 make_input, prepare, resolve_clock, space_ops)
from densenas_mm.latency.measure import check_device, timestamp
from densenas_mm.latency.ort_backend import on_backend, timing_backend
from densenas_mm.structures import DerivedArch
from densenas_mm.utils.rounds import RoundStats
from .latency_audit import audit_net, measure_like_table
from .random_arch import build_search_mutator, random_arch


def random_archs(config: Any,
                 count: int,
                 seed: int = 0,
                 std: float = 3.0) -> List[DerivedArch]:
    """``count`` random architectures of a search config's space.

    Args:
        config (str | Config): A DenseNAS search config.
        count (int): How many.
        seed (int): Seed of the random logits.
        std (float): Std of the random logits.
    """
    mutator = build_search_mutator(config)
    gen = torch.Generator().manual_seed(seed)
    return [random_arch(mutator, gen, std) for _ in range(count)]


def entry_value(table: LatencyTable,
                key: str,
                statistic: Optional[str] = None) -> float:
    """An entry's value, under ``statistic`` when given and the entry has
    rounds (else its stored ``latency``)."""
    stats = table.round_stats(key, statistic) if statistic else None
    return float(stats.value if stats else table.entries[key]['latency'])


def _ratio(a: float, b: float) -> float:
    lo, hi = min(a, b), max(a, b)
    return hi / lo - 1 if lo > 0 else (0.0 if hi == 0 else float('inf'))


def _spread(values: Sequence[float]) -> Dict[str, float]:
    ordered = sorted(values)
    return dict(
        median=statistics.median(ordered),
        p90=ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))],
        max=ordered[-1])


def path_sum(table: LatencyTable,
             arch: DerivedArch,
             statistic: Optional[str] = None) -> float:
    """LUT sum over a net's ops (skip costs 0), under ``statistic``."""
    total = 0.0
    for _, sigs in arch_parts(arch, table.batch_size, table.dtype,
                              table.memory_format):
        for sig in sigs:
            if not sig.is_skip:
                total += entry_value(table, table.localize(sig).key, statistic)
    return total


def net_ops(arch: DerivedArch) -> int:
    """The ops a net runs (skipped layers are not ops)."""
    return sum(not s.is_skip for _, sigs in arch_parts(arch) for s in sigs)


def predicted_latency(table: LatencyTable,
                      arch: DerivedArch,
                      calibrated: bool = True) -> float:
    """The table's latency of a whole net: its LUT sum, calibrated
    (:meth:`~densenas_mm.latency.calibration.Calibration.net_cost`) when
    ``calibrated`` and the table has a calibration."""
    lut = path_sum(table, arch)
    if not calibrated or table.calibration is None:
        return lut
    return table.calibration.net_cost(lut, net_ops(arch))


def measure_nets(table: LatencyTable,
                 archs: Sequence[DerivedArch],
                 device: str = 'cpu',
                 backend: Optional[str] = None,
                 **timing: Any) -> List[RoundStats]:
    """Whole-net latency of ``archs``, timed the way ``table`` was.

    Every net (the audit's net: stem, blocks, terminal, classifier) is
    timed at the table's batch size, dtype and memory format in interleaved
    rounds (round 1 of every net, then round 2, ...) with the table's
    clock, allocator setting, dropping of interrupted calls and statistic
    (:func:`.latency_audit.measure_like_table`), nets whose rounds disagree
    getting extra rounds, on the table's timing backend.

    Args:
        table (LatencyTable): The table (needs every op of every net).
        archs (Sequence[DerivedArch]): The nets.
        device (str): Where to measure.
        backend (str, optional): Must be the table's backend (default).
        **timing: Arguments of :func:`.latency_audit.measure_like_table`.

    Returns:
        list[RoundStats]: One per net, in order.

    Raises:
        LatencyTableError: If the table lacks an op of a net, or was timed
            with another backend.
    """
    device = check_device(device)
    backend = timing_backend(table.metadata, table.source, backend)
    items = {}
    for i, arch in enumerate(archs):
        net, parts = audit_net(arch, table.batch_size, table.dtype,
                               table.memory_format)
        table.require([s for _, sigs in parts for s in sigs],
                      f'net {i} ({arch.to_net_config()})')
        stem = parts[0][1][0]
        x = make_input(stem, device)
        items[i] = (on_backend(prepare(net, stem, device), x, backend), x)
    torch.manual_seed(0)
    result = measure_like_table(table, items, device, **timing)
    return [result.stats[i] for i in items]


def prepare_timing(lut: str, config: str, device: str,
                   threads: Optional[int],
                   backend: Optional[str]) -> Tuple[LatencyTable, str, str,
                                                    Any]:
    """Set up a job that times whole nets of a search space like its table.

    Args:
        lut (str): The table.
        config (str): The search config of the table's space.
        device (str): Where to time (checked).
        threads (int, optional): Torch CPU threads (default: the table's,
            on a CPU).
        backend (str, optional): Must be the table's timing backend.

    Returns:
        tuple: The table, the device, the timing backend and the space's
        mutator (the table checked to cover every op of the space).
    """
    table = LatencyTable.load(lut)
    device = check_device(device)
    backend = timing_backend(table.metadata, table.source, backend)
    threads = threads or (table.metadata.get('num_threads')
                          if device == 'cpu' else None)
    if threads:
        torch.set_num_threads(int(threads))
    mutator = build_search_mutator(config)
    table.require(space_ops(mutator.space).unique(),
                  f'search space {mutator.space.name!r}')
    return table, device, backend, mutator


def where_now(device: str, backend: str) -> Dict[str, Any]:
    """Where and when a timing job runs: date, host, device name, backend,
    torch threads and the load average."""
    return dict(date=timestamp(), host=platform.node(),
                device=device_name(device), backend=backend,
                threads=torch.get_num_threads(),
                load=list(os.getloadavg()))


def compare_tables(a: LatencyTable,
                   b: LatencyTable,
                   archs: Sequence[DerivedArch] = (),
                   statistic: Optional[str] = None) -> Dict[str, Any]:
    """Agreement of two tables, per entry and on path sums.

    Args:
        a, b (LatencyTable): Tables of the same setting.
        archs (Sequence[DerivedArch]): Nets whose path sums to compare.
        statistic (str, optional): Re-evaluate both tables' rounds with this
            statistic (default: their stored values).

    Returns:
        dict: ``entries`` (common keys), ``entry`` (median / p90 / max of
        ``max/min - 1`` per entry), ``worst`` (five keys with both values),
        ``path`` (the same over the nets' sums; absent without nets) and
        ``paths`` (per net: both sums).

    Raises:
        ValueError: If the tables share no entry.
    """
    keys = sorted(set(a.entries) & set(b.entries))
    if not keys:
        raise ValueError(f'{a.source} and {b.source} share no entry '
                         '(another setting or space?)')
    va = {k: entry_value(a, k, statistic) for k in keys}
    vb = {k: entry_value(b, k, statistic) for k in keys}
    diffs = {k: _ratio(va[k], vb[k]) for k in keys}
    worst = sorted(keys, key=lambda k: -diffs[k])[:5]
    out: Dict[str, Any] = dict(
        statistic=statistic or a.metadata.get('statistic'),
        entries=len(keys),
        entry=_spread(list(diffs.values())),
        worst=[dict(key=k, a=va[k], b=vb[k], diff=diffs[k]) for k in worst])
    if archs:
        sums = [(path_sum(a, arch, statistic), path_sum(b, arch, statistic))
                for arch in archs]
        out['path'] = _spread([_ratio(x, y) for x, y in sums])
        out['paths'] = [
            dict(net=arch.to_net_config(), a=x, b=y)
            for arch, (x, y) in zip(archs, sums)
        ]
    return out


def rank_agreement(table: LatencyTable,
                   archs: Sequence[DerivedArch],
                   device: str = 'cpu',
                   calibrated: bool = True,
                   **timing: Any) -> Dict[str, Any]:
    """LUT-predicted vs measured whole-net latency of ``archs``.

    Every net is timed the way the table was measured
    (:func:`measure_nets`), so prediction and measurement are the same kind
    of number.

    Args:
        table (LatencyTable): The table (needs every op of every net).
        archs (Sequence[DerivedArch]): At least 2 nets.
        device (str): Where to measure.
        calibrated (bool): Predict with the table's calibration where it
            has one (:func:`predicted_latency`).
        **timing: Arguments of :func:`.latency_audit.measure_like_table`
            (``rounds``, ``min_repeats``, ``clock``, ...).

    Returns:
        dict: ``kendall_tau`` (and its ``p``), ``spearman_rho``, ``nets``
        (per net: ``net_config``, ``predicted_ms``, ``measured_ms``,
        ``rel_error``, ``noise`` = the ``rel_err`` of its rounds,
        ``rounds`` = round medians, ``round_minima``), ``timing``,
        ``statistic``, ``load`` before / after, and the date.

    Raises:
        ValueError: For fewer than 2 nets.
        LatencyTableError: If the table lacks an op of a net.
    """
    from scipy.stats import kendalltau, spearmanr
    if len(archs) < 2:
        raise ValueError(f'rank agreement needs >= 2 nets, got {len(archs)}')
    predicted = [predicted_latency(table, arch, calibrated) for arch in archs]
    load_before = os.getloadavg()
    stats = measure_nets(table, archs, device, **timing)
    load_after = os.getloadavg()
    measured = [s.value for s in stats]
    tau = kendalltau(predicted, measured)
    rho = spearmanr(predicted, measured)
    return dict(
        date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
        table=table.source,
        device=table.device,
        calibrated=bool(calibrated and table.calibration is not None),
        batch_size=table.batch_size,
        clock=resolve_clock(
            timing.get('clock') or table.metadata.get('clock', 'auto'),
            device),
        statistic=stats[0].statistic,
        timing=timing,
        load_before=list(load_before),
        load_after=list(load_after),
        kendall_tau=float(tau.statistic),
        kendall_p=float(tau.pvalue),
        spearman_rho=float(rho.statistic),
        nets=[
            dict(
                net_config=arch.to_net_config(),
                predicted_ms=p,
                measured_ms=s.value,
                rel_error=(p - s.value) / s.value,
                noise=s.rel_err,
                count=s.count,
                rounds=list(s.medians),
                round_minima=list(s.minima))
            for arch, p, s in zip(archs, predicted, stats)
        ])


def kendall_for(table: LatencyTable, archs: Sequence[DerivedArch],
                report: Dict[str, Any], statistic: str) -> float:
    """Kendall's tau of a :func:`rank_agreement` report re-evaluated with
    another statistic (for the table's entries and the nets' rounds)."""
    from scipy.stats import kendalltau
    predicted = [path_sum(table, arch, statistic) for arch in archs]
    measured = [
        RoundStats(
            tuple(n['rounds']), tuple(n['round_minima']), n['count'],
            statistic).value for n in report['nets']
    ]
    return float(kendalltau(predicted, measured).statistic)
