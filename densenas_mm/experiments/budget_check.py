"""Does a latency budget hold in real milliseconds?

The check of a calibrated table end to end, for budget searches:

1. calibrate the table from whole nets timed end to end
   (:func:`densenas_mm.apis.latency_calibration.calibrate_table`, written
   once as ``table_cal.json`` in the work dir and reused);
2. for each target T (given, or quantiles of random nets' calibrated
   latency: :func:`default_targets`), one search with
   ``LatencyLoss(target=T)`` on that table
   (:func:`.runs.search`, resumable); its net is the most
   probable one whose calibrated prediction is at most T
   (``arch/budget.yaml``, :mod:`densenas_mm.apis.latency_budget`), and the
   search itself logs the ``budget T: ...`` line with a first measurement;
3. in one sitting at the end, every budget net and the calibration's own
   nets timed end to end together, in interleaved rounds, ``repeats``
   times: the budget nets' measured latency against their targets, and the
   calibration nets' current error (how far the machine has drifted since
   the fit), next to the re-measurement agreement (the ceiling); and the
   budget nets against their targets once more with the measurements
   divided by that drift
   (:func:`~densenas_mm.latency.calibration.machine_drift`), which tells
   the table's error from the machine's;
4. with ``rederive``, just before those rounds: the calibration's nets
   timed once for the machine's level now, the calibrated table rescaled to
   it (``table_level.json``) and each budget net derived again from its
   search's alpha / beta with the rescaled table (``budget_<T>/rederived/``,
   no new search); those nets are timed in the same rounds: the budget in
   the milliseconds of the machine at the time of use.

Results: ``budget_check.json`` and ``budget_check.md`` in the work dir
(atomic). The command line: ``tools/benchmark/budget_check.py``.
"""
import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from densenas_mm.latency.accuracy import prediction_accuracy
from densenas_mm.latency.calibration import machine_drift
from densenas_mm.utils.io import dump_json_atomic, write_text_atomic
from .runs import schedule_options, search

#: Share of the target a measured budget net must land within.
TOLERANCE = 0.05


def default_targets(config: str,
                    lut: str,
                    quantiles: Sequence[float] = (0.2, 0.5, 0.8),
                    seed: int = 0,
                    draws: int = 1000) -> List[float]:
    """Targets across the space's range: ``quantiles`` of the calibrated
    predicted latency of ``draws`` random nets, rounded to 0.01 ms.

    Raises:
        ValueError: For a quantile outside (0, 1).
    """
    from densenas_mm.apis.latency_agreement import predicted_latency
    from densenas_mm.apis.random_arch import (build_search_mutator,
                                              random_arch)
    from densenas_mm.latency import LatencyTable
    bad = [q for q in quantiles if not 0 < q < 1]
    if bad:
        raise ValueError(f'quantiles lie in (0, 1), got {bad}')
    table = LatencyTable.load(lut)
    mutator = build_search_mutator(config)
    gen = torch.Generator().manual_seed(seed)
    values = [
        predicted_latency(table, random_arch(mutator, gen))
        for _ in range(draws)
    ]
    return [round(float(np.quantile(values, q)), 2) for q in quantiles]


def budget_check(config: str,
                 lut: str,
                 *,
                 work_dir: str = 'work_dirs/budget_check',
                 targets: Sequence[float] = (),
                 quantiles: Sequence[float] = (0.2, 0.5, 0.8),
                 nets: int = 20,
                 seed: int = 0,
                 repeats: int = 2,
                 search_epochs: Optional[int] = None,
                 warmup_epochs: Optional[int] = None,
                 search_options: Sequence[str] = (),
                 reuse: bool = True,
                 rederive: bool = False,
                 device: str = 'cpu',
                 command: Optional[str] = None,
                 **timing: Any) -> Dict[str, Any]:
    """Calibrate, search for each target, measure the budget nets.

    Args:
        config (str): The search config.
        lut (str): The latency table to calibrate (its entries are kept;
            an existing calibration is refitted).
        work_dir (str): Where the calibrated table, the searches and the
            results go.
        targets (Sequence[float]): Latency budgets in ms (default: from
            ``quantiles``, :func:`default_targets`).
        quantiles (Sequence[float]): See ``targets``.
        nets (int): Nets of the calibration.
        seed (int): Seed of the calibration nets, the targets' draw and
            every search.
        repeats (int): Times every net is measured at the end (>= 2: the
            second and later give the re-measurement agreement).
        search_epochs (int, optional): Override the search's max_epochs.
        warmup_epochs (int, optional): Override its warm-up epochs.
        search_options (Sequence[str]): More ``key=value`` search options.
        reuse (bool): Reuse the calibrated table and finished searches.
        rederive (bool): Also derive each budget net again at the machine's
            level just before the measurement (step 4 above).
        device (str): Where to time (the table's device type).
        command (str, optional): The command line, recorded.
        **timing: Round settings of
            :func:`densenas_mm.apis.latency_audit.measure_like_table`.

    Returns:
        dict: The report (also ``budget_check.json`` / ``.md``).

    Raises:
        ValueError: For ``repeats`` < 2.
    """
    from densenas_mm.apis.latency_agreement import (measure_nets,
                                                    predicted_latency)
    from densenas_mm.apis.latency_calibration import calibrate_table
    from densenas_mm.apis.latency_level import calibration_nets
    from densenas_mm.apis.latency_budget import BUDGET_FILE
    from densenas_mm.latency import LatencyTable
    from densenas_mm.structures import DerivedArch
    if repeats < 2:
        raise ValueError(f'repeats must be >= 2, got {repeats}')
    os.makedirs(work_dir, exist_ok=True)
    cal_lut = osp.join(work_dir, 'table_cal.json')
    if not (reuse and osp.isfile(cal_lut)):
        calibrate_table(config, lut, nets, seed, out=cal_lut, device=device,
                        **timing)
    targets = [float(t) for t in targets] or default_targets(
        config, cal_lut, quantiles, seed)
    opts = schedule_options(search_options, search_epochs, warmup_epochs)
    searches = []
    for target in targets:
        wd = osp.join(work_dir, f'budget_{target:g}')
        arch = search(config, wd, seed, cal_lut,
                      opts + [f'model.cost_loss.target={target}'], 'budget',
                      reuse=reuse)
        with open(osp.join(wd, BUDGET_FILE), encoding='utf-8') as f:
            searches.append((target, arch, json.load(f)))
    table = LatencyTable.load(cal_lut)
    budget_nets = [DerivedArch.load(a) for _, a, _ in searches]
    cal_nets = calibration_nets(table, budget_nets[0])
    threads = torch.get_num_threads()
    if device == 'cpu':
        torch.set_num_threads(
            int(table.metadata.get('num_threads') or threads))
    try:
        level, again = (_rederive(config, work_dir, table, cal_nets,
                                  searches, device, **timing)
                        if rederive else (None, []))
        rounds = [[s.value for s in measure_nets(
            table, budget_nets + [a for a, _ in again] + cal_nets, device,
            **timing)] for _ in range(repeats)]
    finally:
        torch.set_num_threads(threads)
    n, m = len(budget_nets), len(budget_nets) + len(again)
    measured = np.asarray(rounds)  # repeats x nets
    mean = measured.mean(axis=0)
    drift = machine_drift(
        [r['measured'] for r in table.calibration.fit['samples']],
        mean[m:])
    rows = []
    for k, (target, arch, report) in enumerate(searches):
        rows.append(dict(
            target=target, arch=osp.relpath(arch, work_dir),
            predicted=report['predicted'],
            argmax_predicted=report.get('argmax_predicted'),
            derivation=report.get('derivation'),
            measured_at_search_end=report.get('measured'),
            measured=[float(v) for v in measured[:, k]],
            measured_mean=float(mean[k]),
            error=float(mean[k] / target - 1),
            error_drift_corrected=float(mean[k] / drift / target - 1),
            net_config=report['net_config']))
        if again:
            _, row = again[k]
            rows[-1]['rederived'] = dict(
                row, arch=osp.relpath(row['arch'], work_dir),
                same_net=row['net_config'] == report['net_config'],
                measured=[float(v) for v in measured[:, n + k]],
                measured_mean=float(mean[n + k]),
                error=float(mean[n + k] / target - 1))
    cal_pred = [predicted_latency(table, a) for a in cal_nets]
    result = dict(
        config=config, table=lut, calibrated_table=cal_lut, seed=seed,
        command=command, calibration=table.calibration.describe(),
        calibration_fit=dict(
            date=table.calibration.fit.get('date'),
            load=table.calibration.fit.get('load')),
        measured_date=_now(), load=list(os.getloadavg()),
        threads=int(table.metadata.get('num_threads') or threads),
        targets=targets, budgets=rows, calibration_nets=len(cal_nets),
        within_tolerance=int(sum(abs(r['error']) <= TOLERANCE
                                 for r in rows)),
        drift=drift,
        within_tolerance_drift_corrected=int(sum(
            abs(r['error_drift_corrected']) <= TOLERANCE for r in rows)),
        level_check=level,
        within_tolerance_rederived=(int(sum(
            abs(r['rederived']['error']) <= TOLERANCE for r in rows))
            if again else None),
        budget_vs_predicted=prediction_accuracy(
            [r['predicted'] for r in rows], list(mean[:n])),
        calibration_nets_now=prediction_accuracy(cal_pred, list(mean[m:])),
        calibration_net_rows=[
            dict(predicted=p, measured=[float(v) for v in measured[:, m + i]])
            for i, p in enumerate(cal_pred)],
        remeasurement=prediction_accuracy(list(measured[1]),
                                          list(measured[0])),
        timing={k: v for k, v in timing.items() if v is not None})
    dump_json_atomic(result, osp.join(work_dir, 'budget_check.json'),
                     indent=2)
    write_text_atomic(format_budget_check(result) + '\n',
                      osp.join(work_dir, 'budget_check.md'))
    return result


def _rederive(config: str, work_dir: str, table: Any, cal_nets: List[Any],
              searches: Sequence[Any], device: str, **timing: Any
              ) -> Tuple[Dict[str, Any], List[Tuple[Any, Dict[str, Any]]]]:
    """Step 4 of the module's doc: the level now, ``table_level.json`` and
    each search's budget net derived again with it.

    Returns:
        tuple: The level check
        (:func:`densenas_mm.apis.latency_level.level_check`) and, per
        search, ``(net, row)``: the net and its ``derive_budgets`` row
        (``cost`` renamed ``predicted``, ``arch`` the YAML's path, plus
        ``derivation_window`` and ``derivation``: ``'rederived'``, or
        ``'kept'`` with the ``reason`` when even the cheapest net exceeds
        the budget at the new level, the search's net then being kept).

    Raises:
        RuntimeError: When a search has no checkpoint.
    """
    from densenas_mm.apis.budgets import derive_budgets
    from densenas_mm.apis.latency_budget import BUDGET_WINDOW
    from densenas_mm.apis.latency_level import measure_level
    from densenas_mm.latency.ort_backend import timing_backend
    from densenas_mm.structures import DerivedArch
    from densenas_mm.utils.resume import read_last_checkpoint
    backend = timing_backend(table.metadata, table.source, None)
    check, _, leveled = measure_level(table, cal_nets, device, backend,
                                      **timing)
    level_lut = osp.join(work_dir, 'table_level.json')
    level_table = table.with_calibration(leveled)
    level_table.save(level_lut)
    out = []
    for target, arch, report in searches:
        wd = osp.join(work_dir, f'budget_{target:g}')
        ckpt = read_last_checkpoint(wd)
        if not ckpt:
            raise RuntimeError(f'{wd} has no checkpoint to derive from')
        window = float(report.get('window', BUDGET_WINDOW))
        done = derive_budgets(config, ckpt, budgets=[target], lut=level_lut,
                              window=window,
                              out_dir=osp.join(wd, 'rederived'))
        if done.status:
            # no net of the space fits T at this level: keep the search's
            out.append(_kept(arch, report, level_table, window, done.err))
            continue
        row = dict(done.result['budgets'][0])
        row['arch'] = osp.join(wd, 'rederived', row['arch'])
        row['predicted'] = row.pop('cost')
        row['derivation_window'] = window
        row['derivation'] = 'rederived'
        out.append((DerivedArch.load(row['arch']), row))
    return check, out


def _kept(arch: str, report: Dict[str, Any], level_table: Any,
          window: float, reason: str) -> Tuple[Any, Dict[str, Any]]:
    """The re-derivation's row when no net fits the budget at the new
    level: the search's own net, predicted with the rescaled table
    (a :class:`~densenas_mm.latency.LatencyTable`)."""
    from densenas_mm.apis.latency_agreement import predicted_latency
    from densenas_mm.structures import DerivedArch
    net = DerivedArch.load(arch)
    return net, dict(
        budget=report['target'], arch=arch, derivation='kept',
        reason=reason.strip(), net_config=report['net_config'],
        predicted=predicted_latency(level_table, net),
        derivation_window=window)


def _now() -> str:
    from densenas_mm.latency.measure import timestamp
    return timestamp()


def _pct(x: float) -> str:
    return f'{100 * x:+.1f} %'


def format_budget_check(result: Dict[str, Any]) -> str:
    """The report as Markdown: one row per budget, then the agreement of
    the calibration's nets now and of the re-measurement."""
    lines = [
        f'calibration: {result["calibration"]} (fitted '
        f'{result["calibration_fit"]["date"]})',
        '',
        '| budget T (ms) | predicted (ms) | argmax net predicted (ms) | '
        'measured at search end (ms) | measured now, mean (ms) | '
        'measured vs T | measured / drift vs T |',
        '|---|---|---|---|---|---|---|',
    ]
    for r in result['budgets']:
        end = r['measured_at_search_end']
        argmax = r['argmax_predicted']
        lines.append(
            f'| {r["target"]:g} | {r["predicted"]:.3f} | '
            f'{"-" if argmax is None else f"{argmax:.3f}"} | '
            f'{"-" if end is None else f"{end:.3f}"} | '
            f'{r["measured_mean"]:.3f} | {_pct(r["error"])} | '
            f'{_pct(r["error_drift_corrected"])} |')
    now, again = result['calibration_nets_now'], result['remeasurement']
    pred = result['budget_vs_predicted']
    lines += [
        '',
        f'{result["within_tolerance"]} of {len(result["budgets"])} budget '
        f'nets measured within +-{100 * TOLERANCE:g} % of their budget '
        f'(measured {result["measured_date"]}, load '
        f'{result["load"][0]:.2f}, {result["threads"]} thread(s)).',
        f'drift since the fit: the calibration\'s nets now measure '
        f'{result["drift"]:.3f} x their fit-time timings; corrected for it, '
        f'{result["within_tolerance_drift_corrected"]} of '
        f'{len(result["budgets"])} budget nets within '
        f'+-{100 * TOLERANCE:g} %.',
        f'budget nets, prediction vs measurement: mean abs error '
        f'{100 * pred["mean_abs_rel_error"]:.1f} %, max '
        f'{100 * pred["max_abs_rel_error"]:.1f} %.',
        f'the calibration\'s own {result["calibration_nets"]} nets now: '
        f'mean abs error {100 * now["mean_abs_rel_error"]:.1f} %, '
        f'{100 * now["within_5pct"]:.0f} % within +-5 % (drift since the '
        'fit).',
        f're-measurement agreement (ceiling): mean abs '
        f'{100 * again["mean_abs_rel_error"]:.1f} %, '
        f'{100 * again["within_5pct"]:.0f} % within +-5 %.',
    ]
    if result.get('level_check'):
        lines += ['', *_rederived_lines(result)]
    return '\n'.join(lines)


def _rederived_lines(result: Dict[str, Any]) -> List[str]:
    """The re-derived nets' table (``rederive``)."""
    level = result['level_check']
    lines = [
        f're-derived at the level of the measurement: just before it the '
        f'calibration\'s nets took {level["level"]:.3f} x their time at the '
        f'fit (spread {100 * level["spread"]:.1f} %); each budget net '
        'derived again from its search with the table rescaled to that '
        'level:', '',
        '| budget T (ms) | re-derived net predicted (ms) | same net as the '
        'search\'s | measured now, mean (ms) | measured vs T |',
        '|---|---|---|---|---|'
    ]
    for r in result['budgets']:
        again = r['rederived']
        lines.append(
            f'| {r["target"]:g} | {again["predicted"]:.3f} | '
            f'{"yes" if again["same_net"] else "no"} | '
            f'{again["measured_mean"]:.3f} | {_pct(again["error"])} |')
    lines += [
        '',
        f'{result["within_tolerance_rederived"]} of '
        f'{len(result["budgets"])} re-derived budget nets measured within '
        f'+-{100 * TOLERANCE:g} % of their budget.'
    ]
    return lines


def run_and_print(**kwargs: Any) -> Dict[str, Any]:
    """:func:`budget_check`, then its report printed (the tool's job)."""
    result = budget_check(**kwargs)
    print(format_budget_check(result))
    return result
