"""The latency calibration tools' jobs: calibrate a table from whole nets
timed end to end (``tools/analysis/calibrate_latency.py``) and check a
calibrated table on held-out nets (``tools/analysis/latency_heldout.py``).
Re-timing a calibration's own nets to rescale it to the machine's level of
the day is :mod:`.latency_level`'s.

Both time the nets the way the table was measured
(:func:`~.latency_agreement.measure_nets`: the table's batch size, dtype,
memory format, clock, statistic, allocator setting, timing backend and, on
a CPU, thread count), in interleaved rounds.
"""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

from densenas_mm.latency import LatencyTable
from densenas_mm.latency.accuracy import prediction_accuracy
from densenas_mm.latency.calibration import (TERMS, NetSample,
                                             fit_calibration)
from densenas_mm.structures import DerivedArch
from densenas_mm.utils.io import dump_json_atomic
from .cli import ToolOutput
from .latency_agreement import (measure_nets, net_ops, path_sum,
                                predicted_latency, prepare_timing, where_now)
from .latency_level import calibration_nets, level_check
from .random_arch import random_arch


def spread_archs(mutator: Any,
                 table: LatencyTable,
                 count: int,
                 generator: torch.Generator,
                 draws: Optional[int] = None,
                 exclude: Sequence[str] = (),
                 std: float = 3.0) -> List[DerivedArch]:
    """``count`` distinct random nets spread over the space's latency
    range: of ``draws`` random nets (default ``20 * count``), those at
    evenly spaced quantiles of their LUT sum.

    Args:
        mutator: The search config's ``DenseRoutingMutator``.
        table (LatencyTable): Orders the nets (raw LUT sums).
        count (int): How many nets.
        generator (torch.Generator): Source of the random logits.
        draws (int, optional): Random nets drawn.
        exclude (Sequence[str]): ``net_config`` strings never picked (e.g.
            the nets a calibration was fitted on).
        std (float): Std of the random logits.

    Raises:
        ValueError: When the draws hold fewer than ``count`` distinct nets.
    """
    found: Dict[str, DerivedArch] = {}
    skip = set(exclude)
    for _ in range(draws or 20 * count):
        arch = random_arch(mutator, generator, std)
        key = arch.to_net_config()
        if key not in skip:
            found.setdefault(key, arch)
    if len(found) < count:
        raise ValueError(f'{draws or 20 * count} draws gave {len(found)} new '
                         f'distinct nets, fewer than the {count} asked for; '
                         'draw more (--draws)')
    ranked = sorted(found.values(), key=lambda a: path_sum(table, a))
    picks = np.linspace(0, len(ranked) - 1, count).round().astype(int)
    return [ranked[i] for i in picks]


def calibrate_table(config: str,
                    lut: str,
                    nets: int = 20,
                    seed: int = 0,
                    out: Optional[str] = None,
                    device: str = 'cpu',
                    backend: Optional[str] = None,
                    terms: Sequence[str] = TERMS,
                    draws: Optional[int] = None,
                    threads: Optional[int] = None,
                    **timing: Any) -> ToolOutput:
    """Time ``nets`` random nets of ``config``'s space end to end, fit the
    table's calibration and write the calibrated table.

    Args:
        config (str): The search config of the table's space.
        lut (str): The table (any schema version; its entries are kept).
        nets (int): Nets to time (spread over the latency range,
            :func:`spread_archs`).
        seed (int): Seed of the random nets.
        out (str, optional): Calibrated table (default: overwrite ``lut``).
        device (str): Where to time (the table's device).
        backend (str, optional): Must be the table's timing backend.
        terms (Sequence[str]): Model terms to fit (``scale`` always).
        draws (int, optional): Random nets drawn to pick from.
        threads (int, optional): Torch CPU threads (default: the table's).
        **timing: Round settings of :func:`.latency_audit.measure_like_table`.

    Returns:
        ToolOutput: The model, its fit and residuals; result: the
        :class:`~densenas_mm.latency.calibration.Calibration`.
    """
    table, device, backend, mutator = prepare_timing(lut, config, device,
                                                     threads, backend)
    archs = spread_archs(mutator, table, nets,
                         torch.Generator().manual_seed(seed), draws)
    stats = measure_nets(table, archs, device, backend, **timing)
    samples = [
        NetSample(a.to_net_config(), path_sum(table, a), net_ops(a), s.value)
        for a, s in zip(archs, stats)
    ]
    cal = fit_calibration(
        samples, terms,
        dict(where_now(device, backend), seed=seed, config=config,
             space=mutator.space.name, table=table.source,
             timing={k: v for k, v in timing.items() if v is not None},
             noise=[s.rel_err for s in stats]))
    table.calibration = cal
    out = out or lut
    table.save(out)
    lines = [f'{"net":<4}{"LUT ms":>9}{"ops":>5}{"measured":>10}'
             f'{"calibrated":>12}{"error":>9}']
    for i, row in enumerate(cal.fit['samples']):
        lines.append(f'{i:<4}{row["lut"]:>9.3f}{row["ops"]:>5}'
                     f'{row["measured"]:>10.3f}{row["predicted"]:>12.3f}'
                     f'{100 * row["rel_error"]:>+8.1f}%')
    lines += [
        f'calibration of {table.source} on {cal.fit["device"]} '
        f'({backend}, {torch.get_num_threads()} threads, load '
        f'{cal.fit["load"][0]:.2f}):', '  ' + cal.describe(),
        f'wrote {out} (schema version 3, calibrated)'
    ]
    return ToolOutput(0, '\n'.join(lines), result=cal)


def _load_archs(paths: Sequence[str]) -> List[DerivedArch]:
    return [DerivedArch.load(p) for p in paths]


def format_accuracy(name: str, acc: Dict[str, Any]) -> str:
    """One line of :func:`~densenas_mm.latency.accuracy.
    prediction_accuracy`'s numbers."""
    return (f'{name:<16} mean |err| {100 * acc["mean_abs_rel_error"]:5.2f} %'
            f'  max {100 * acc["max_abs_rel_error"]:5.2f} %  within 5 % '
            f'{100 * acc["within_5pct"]:5.1f} %  within 10 % '
            f'{100 * acc["within_10pct"]:5.1f} %  tau '
            f'{acc["kendall_tau"]:.3f}  tau in +-5 % bins '
            f'{acc["kendall_tau_in_bins"]:.3f} ({acc["bin_pairs"]} pairs)  '
            f'spread at equal prediction: max {100 * acc["max_spread"]:.1f} %'
            f', median {100 * acc["median_spread"]:.1f} %')


def heldout_accuracy(config: str,
                     lut: str,
                     nets: int = 30,
                     seed: int = 1,
                     archs: Sequence[str] = (),
                     device: str = 'cpu',
                     backend: Optional[str] = None,
                     draws: Optional[int] = None,
                     threads: Optional[int] = None,
                     level_each_pass: bool = False,
                     json: Optional[str] = None,
                     command: Optional[str] = None,
                     **timing: Any) -> ToolOutput:
    """Check a calibrated table on nets not used for its fit, each
    measured twice.

    The first measurement is the truth; the second, taken as a prediction
    of it, gives the re-measurement agreement (the ceiling). Reported for
    the calibrated prediction, the raw LUT sum and the re-measurement:
    :func:`~densenas_mm.latency.accuracy.prediction_accuracy`.

    With ``level_each_pass``, each pass also times the calibration's own
    nets in the same interleaved rounds, which gives the machine's level
    during that pass (:func:`.latency_level.level_check`, relative to the
    table's level). Two more rows then read the passes at one level:
    ``leveled`` (the calibrated prediction times the first pass's level,
    against the first pass) and ``remeasurement_leveled`` (the second pass
    brought to the first pass's level). Where the machine's speed moves
    within minutes (a shared VM, docs/latency.md), this separates the
    table's error from the machine's move, as
    :func:`.latency_level.check_level` does between sittings.

    Args:
        config (str): The search config of the table's space.
        lut (str): The (calibrated) table.
        nets (int): Random held-out nets, spread over the latency range.
        seed (int): Their seed (another than the calibration's).
        archs (Sequence[str]): Further nets (e.g. searched), YAML files.
        device (str): Where to time.
        backend (str, optional): Must be the table's timing backend.
        draws (int, optional): Random nets drawn to pick from.
        threads (int, optional): Torch CPU threads (default: the table's).
        level_each_pass (bool): Time the calibration's nets in each pass
            too and report the passes at one level (above).
        json (str, optional): Write the report here.
        command (str, optional): The command line, recorded.
        **timing: Round settings of :func:`.latency_audit.measure_like_table`.

    Returns:
        ToolOutput: The numbers (status 2 when ``level_each_pass`` is
        asked of a table without calibration nets); result: the report
        dict.
    """
    table, device, backend, mutator = prepare_timing(lut, config, device,
                                                     threads, backend)
    fitted = [r['net'] for r in (table.calibration.fit.get('samples', [])
                                 if table.calibration else [])]
    chosen = spread_archs(mutator, table, nets,
                          torch.Generator().manual_seed(seed), draws,
                          exclude=fitted) + _load_archs(archs)
    try:
        references = (calibration_nets(table, chosen[0])
                      if level_each_pass else [])
    except ValueError as err:
        return ToolOutput(2, err=f'error: {err}')
    n = len(chosen)
    runs, levels = [], []
    for _ in range(2):
        runs.append(measure_nets(table, chosen + references, device,
                                 backend, **timing))
        if references:
            levels.append(level_check(
                table, [s.value for s in runs[-1][n:]], device, backend))
    first, second = runs
    m1 = [s.value for s in first[:n]]
    m2 = [s.value for s in second[:n]]
    calibrated = [predicted_latency(table, a) for a in chosen]
    raw = [path_sum(table, a) for a in chosen]
    report = dict(
        where_now(device, backend), command=command, table=table.source,
        config=config, seed=seed, calibration=(
            None if table.calibration is None else {
                k: v for k, v in table.calibration.to_dict().items()
                if k != 'fit'}),
        timing={k: v for k, v in timing.items() if v is not None},
        calibrated=prediction_accuracy(calibrated, m1),
        uncalibrated=prediction_accuracy(raw, m1),
        remeasurement=prediction_accuracy(m2, m1),
        nets=[dict(net=a.to_net_config(),
                   kind='random' if i < nets else 'given',
                   lut_ms=r, predicted_ms=p, measured_ms=x, remeasured_ms=y,
                   noise=s.rel_err)
              for i, (a, r, p, x, y, s) in enumerate(
                  zip(chosen, raw, calibrated, m1, m2, first))])
    if levels:
        # the level relative to the table's: what its predictions assume
        one, two = (c['change'] for c in levels)
        report.update(
            pass_levels=levels,
            leveled=prediction_accuracy([one * p for p in calibrated], m1),
            remeasurement_leveled=prediction_accuracy(
                [one / two * y for y in m2], m1))
    if json:
        dump_json_atomic(report, json, indent=2)
    lines = [
        f'{len(chosen)} held-out nets ({nets} random, {len(archs)} given) '
        f'of {mutator.space.name!r}, {min(m1):.3f}-{max(m1):.3f} ms, each '
        f'measured twice on {report["device"]} ({backend}, load '
        f'{report["load"][0]:.2f}):',
        format_accuracy('calibrated', report['calibrated']),
        format_accuracy('uncalibrated', report['uncalibrated']),
        format_accuracy('re-measurement', report['remeasurement'])
    ]
    if levels:
        lines += [
            f'machine level in each pass (the calibration\'s '
            f'{len(references)} nets, against the table\'s level '
            f'{table.calibration.level:.3f}): '
            + ', '.join(f'{c["change"]:.3f} (spread '
                        f'{100 * c["spread"]:.1f} %)' for c in levels),
            format_accuracy('leveled', report['leveled']),
            format_accuracy('re-meas. leveled',
                            report['remeasurement_leveled'])
        ]
    if table.calibration is None:
        lines.append(f'{lut} has no calibration: "calibrated" = the raw '
                     'sums; calibrate it with '
                     'tools/analysis/calibrate_latency.py')
    if json:
        lines.append(f'wrote {json}')
    return ToolOutput(0, '\n'.join(lines), result=report)
