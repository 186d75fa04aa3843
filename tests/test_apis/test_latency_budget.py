"""The budget line of a search with LatencyLoss(target=T): the derived
net's predicted (calibrated) and measured latency."""
import json
import shutil
import types
from pathlib import Path

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.apis.latency_agreement import net_ops, path_sum
from densenas_mm.apis.latency_budget import (budget_line, check_budget,
                                             derivation_line, report_budget)
from densenas_mm.latency import LatencyTable
from densenas_mm.latency.calibration import Calibration
from densenas_mm.models.estimators.budget_derivation import (best_under,
                                                             pareto_front,
                                                             window_best)
from densenas_mm.structures import DerivedArch
from helpers.search import build_algorithm

REPO = Path(__file__).resolve().parents[2]
DEMO_LUT = REPO / 'docs/records/demo_lut_epyc_t1.json'
QUICK = dict(rounds=1, warmup=0, min_repeats=1, max_repeats=1,
             extra_rounds=0)


@pytest.fixture
def calibrated_lut(tmp_path):
    table = LatencyTable.load(str(DEMO_LUT))
    table.calibration = Calibration(1.2, 0.05, 0.1)
    path = tmp_path / 'cal.json'
    table.save(str(path))
    return str(path)


def _random_arch_params(algo, seed=3):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in algo.mutator._arch_params.values():
            p.copy_(torch.randn(p.shape, generator=gen) * 2)


def test_budget_search_reports_predicted_and_measured(calibrated_lut,
                                                      tmp_path,
                                                      one_cpu_thread):
    algo = build_algorithm(lut=calibrated_lut)
    _random_arch_params(algo)
    mutator, est = algo.mutator, algo.estimator
    front = pareto_front(est.space_costs(mutator.space), mutator.space,
                         mutator.host_arch_params(), mutator.graph)
    # a budget inside the front's range, below the unconstrained optimum
    target = (front[0].cost + front[-1].cost) / 2
    algo.cost_loss.target = target
    want = best_under(front, target)
    report = check_budget(algo, window=0, **QUICK)
    assert report['derivation'] == 'budget'
    assert report['target'] == target and report['calibrated'] is True
    # the most probable net within the budget, priced by the calibration
    arch = DerivedArch.from_dict(report['arch'])
    table = algo.estimator.table
    priced = 1.2 * path_sum(table, arch) + 0.05 * net_ops(arch) + 0.1
    assert report['predicted'] == pytest.approx(priced)
    assert report['predicted'] == pytest.approx(want.cost)
    assert report['predicted'] <= target
    assert list(arch.path) == list(want.path)
    argmax = mutator.derived_arch()
    assert report['argmax_predicted'] == pytest.approx(
        est.estimate(argmax)['latency'])
    assert report['measured'] > 0
    line = budget_line(report)
    assert line.startswith(
        f'budget {target:g}: derived {priced:.3f} ms predicted, '
        f'{report["measured"]:.3f} ms measured (')
    # through the runner hook: the lines, budget.json and arch/budget.yaml
    runner = types.SimpleNamespace(model=algo, work_dir=str(tmp_path),
                                   cfg=dict(budget_window=0))
    assert report_budget(runner, **QUICK).startswith(
        f'budget {target:g}: derived')
    saved = json.loads((tmp_path / 'budget.json').read_text())
    assert saved['net_config'] == arch.to_net_config()
    assert saved['arch_file'] == 'arch/budget.yaml'
    written = DerivedArch.load(str(tmp_path / 'arch' / 'budget.yaml'))
    assert written.to_net_config() == arch.to_net_config()
    assert written.meta['budget'] == target
    # the default window: the most probable net in [0.95 T, T]
    windowed = check_budget(algo, measure=False)
    in_window = window_best(est.space_costs(mutator.space), mutator.space,
                            mutator.host_arch_params(), 0.95 * target,
                            target, mutator.graph)
    assert windowed['window'] == 0.05
    assert windowed['derivation'] == ('window' if in_window else 'budget')
    if in_window is not None:
        assert 0.95 * target <= windowed['predicted'] <= target
        assert windowed['predicted'] == pytest.approx(in_window.cost)
        assert 'at most 5 % below it' in derivation_line(windowed)
    # a budget below the cheapest net: the unconstrained derivation
    algo.cost_loss.target = front[0].cost * 0.5
    low = check_budget(algo, measure=False)
    assert low['derivation'] == 'argmax'
    assert low['net_config'] == argmax.to_net_config()
    assert 'exceeds the budget' in derivation_line(low)
    # no budget, no report
    algo.cost_loss.target = None
    assert check_budget(algo) is None


def test_uncalibrated_budget_says_table_milliseconds(tmp_path):
    lut = tmp_path / 'raw.json'
    shutil.copy(DEMO_LUT, lut)
    algo = build_algorithm(lut=str(lut))
    algo.cost_loss.target = 4.0
    report = check_budget(algo, measure=False)
    assert report['calibrated'] is False and report['measured'] is None
    assert budget_line(report).endswith(
        'ms predicted (uncalibrated table: table milliseconds)')


def test_demo_summary_and_search_quality_print_the_budget(tmp_path):
    from densenas_mm.experiments.demo_summary import write_summary
    from densenas_mm.experiments.search_quality_report import budget_text
    (tmp_path / 'search').mkdir()
    (tmp_path / 'search' / 'budget.json').write_text(json.dumps(dict(
        target=4.0, predicted=3.95, measured=4.1, calibrated=True,
        net_config='x')))
    text = write_summary(str(tmp_path))
    assert ('budget 4: derived 3.950 ms predicted, 4.100 ms measured '
            '(+2.5 % of the budget) (calibrated table)') in text
    line = budget_text([dict(target=4.0, achieved=3.9, rel_error=-0.025,
                             measured=4.2, achieved_best=None)])
    assert line == ('budget 4: derived 3.90 ms predicted (-2.5 %), 4.20 ms '
                    'measured (+5.0 %) at the end of the search\n')
