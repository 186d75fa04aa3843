"""Budget check: calibrate, search per target, measure the budget nets."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.apis.latency_agreement import predicted_latency
from densenas_mm.apis.random_arch import build_search_mutator, random_arch
from densenas_mm.experiments.budget_check import default_targets
from densenas_mm.latency import LatencyTable
from densenas_mm.structures import DerivedArch
from helpers import REPO_ROOT
from helpers.tools import load_tool

DIGITS_SEARCH = osp.join(REPO_ROOT, 'configs', 'densenas',
                         'densenas_supernet-demo_1xb32-20e_digits.py')
QUICK = ['--rounds', '1', '--warmup', '0', '--min-repeats', '1',
         '--max-repeats', '1', '--extra-rounds', '0']


def test_default_targets_are_quantiles_of_random_nets(lut):
    targets = default_targets(DIGITS_SEARCH, lut, (0.2, 0.5, 0.8), seed=4,
                              draws=50)
    table = LatencyTable.load(lut)
    mutator = build_search_mutator(DIGITS_SEARCH)
    gen = torch.Generator().manual_seed(4)
    values = [predicted_latency(table, random_arch(mutator, gen))
              for _ in range(50)]
    want = [round(float(np.quantile(values, q)), 2) for q in (0.2, 0.5, 0.8)]
    assert targets == want
    assert targets[0] < targets[1] < targets[2]
    with pytest.raises(ValueError, match=r'quantiles lie in \(0, 1\)'):
        default_targets(DIGITS_SEARCH, lut, (0.5, 1.0), draws=5)


@pytest.mark.slow
def test_budget_check_tool_end_to_end(lut, tmp_path, demo_data_root,
                                      monkeypatch, one_cpu_thread):
    """Calibrate on 4 nets, one 2-epoch budget search, measure twice."""
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    tool = load_tool('benchmark/budget_check.py')
    wd = tmp_path / 'bc'
    table = LatencyTable.load(lut)
    mutator = build_search_mutator(DIGITS_SEARCH)
    gen = torch.Generator().manual_seed(0)
    sums = sorted(predicted_latency(table, random_arch(mutator, gen))
                  for _ in range(40))
    target = round(sums[len(sums) // 2], 3)  # a raw-table median
    args = [DIGITS_SEARCH, '--lut', lut, '--nets', '4', '--targets',
            str(target), '--search-epochs', '2', '--warmup-epochs', '1',
            '--work-dir', str(wd), *QUICK]
    result = tool.main(args)
    cal = LatencyTable.load(str(wd / 'table_cal.json'))
    assert cal.calibration is not None
    assert len(cal.calibration.fit['samples']) == 4
    [row] = result['budgets']
    assert row['target'] == target
    # the budget net: predicted (calibrated) at or under its budget
    net = DerivedArch.load(str(wd / row['arch']))
    assert row['arch'] == osp.join(f'budget_{target:g}', 'arch',
                                   'budget.yaml')
    assert row['predicted'] == pytest.approx(predicted_latency(cal, net))
    if row['derivation'] == 'budget':
        assert row['predicted'] <= target
    assert len(row['measured']) == 2 and min(row['measured']) > 0
    assert row['measured_mean'] == pytest.approx(np.mean(row['measured']))
    assert row['error'] == pytest.approx(row['measured_mean'] / target - 1)
    assert result['within_tolerance'] == int(abs(row['error']) <= 0.05)
    assert result['calibration_nets'] == 4
    # the drift: geometric mean of the calibration nets' now / at fit
    fit = [r['measured'] for r in cal.calibration.fit['samples']]
    now = [np.mean(r['measured']) for r in result['calibration_net_rows']]
    assert result['drift'] == pytest.approx(
        np.exp(np.mean(np.log(np.divide(now, fit)))))
    assert row['error_drift_corrected'] == pytest.approx(
        row['measured_mean'] / result['drift'] / target - 1)
    assert result['within_tolerance_drift_corrected'] == int(
        abs(row['error_drift_corrected']) <= 0.05)
    # the agreement numbers: prediction_accuracy's, one budget net
    pred = result['budget_vs_predicted']
    assert pred['nets'] == 1
    assert pred['mean_abs_rel_error'] == pytest.approx(
        abs(row['predicted'] / row['measured_mean'] - 1))
    assert result['calibration_nets_now']['nets'] == 4
    rows = result['calibration_net_rows']
    assert len(rows) == 4 and all(len(r['measured']) == 2 for r in rows)
    again = result['remeasurement']
    assert again['nets'] == 5 and 0 <= again['within_5pct'] <= 1
    assert -1 <= again['kendall_tau'] <= 1
    saved = json.loads((wd / 'budget_check.json').read_text())
    assert saved['budgets'][0]['net_config'] == net.to_net_config()
    text = (wd / 'budget_check.md').read_text()
    assert f'| {target:g} | {row["predicted"]:.3f} |' in text
    assert 'of 1 budget nets measured within +-5 %' in text
    assert f'{result["drift"]:.3f} x their fit-time timings' in text
    # resumable: the calibration and the search are reused
    stamps = {p: p.stat().st_mtime_ns
              for p in [wd / 'table_cal.json', *sorted(wd.rglob('*.log'))]}
    # a second call with --rederive only measures and derives again
    again = tool.main(args + ['--rederive'])
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    [row] = again['budgets']
    assert row['net_config'] == result['budgets'][0]['net_config']
    level = again['level_check']
    leveled = LatencyTable.load(str(wd / 'table_level.json')).calibration
    assert leveled.level == pytest.approx(level['level'])
    assert leveled.scale == pytest.approx(cal.calibration.scale *
                                          level['level'])
    assert level['nets'] == 4 and level['spread'] >= 0
    net = row['rederived']
    rederived = DerivedArch.load(str(wd / net['arch']))
    assert net['net_config'] == rederived.to_net_config()
    assert net['same_net'] == (net['net_config'] == row['net_config'])
    assert net['predicted'] == pytest.approx(predicted_latency(
        LatencyTable.load(str(wd / 'table_level.json')), rederived))
    if net['derivation'] == 'rederived':
        assert net['arch'] == osp.join(f'budget_{target:g}', 'rederived',
                                       f'budget_{target:g}.yaml')
        assert net['predicted'] <= target
    else:  # a 4-net fit under load can put every net above the budget
        assert net['derivation'] == 'kept' and net['same_net']
        assert 'below the cheapest net' in net['reason']
    assert len(net['measured']) == 2
    assert net['error'] == pytest.approx(np.mean(net['measured']) / target
                                         - 1)
    assert again['within_tolerance_rederived'] == int(
        abs(net['error']) <= 0.05)
    assert len(again['calibration_net_rows']) == 4
    assert again['calibration_nets_now']['nets'] == 4
    assert again['remeasurement']['nets'] == 6  # budget, re-derived, 4
    text = (wd / 'budget_check.md').read_text()
    assert f'{level["level"]:.3f} x their time at the fit' in text
    assert f'| {target:g} | {net["predicted"]:.3f} |' in text
    assert 'of 1 re-derived budget nets measured within +-5 %' in text


