"""The budget line of a search with LatencyLoss(target=T): the derived
net's predicted (calibrated) and measured latency."""
import json
import shutil
import types
from pathlib import Path

import pytest

import densenas_mm  # noqa: F401
from densenas_mm.apis.latency_agreement import net_ops, path_sum
from densenas_mm.apis.latency_budget import (budget_line, check_budget,
                                             report_budget)
from densenas_mm.latency import LatencyTable
from densenas_mm.latency.calibration import Calibration
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


def test_budget_search_reports_predicted_and_measured(calibrated_lut,
                                                      tmp_path,
                                                      one_cpu_thread):
    algo = build_algorithm(lut=calibrated_lut)
    algo.cost_loss.target = 5.0
    arch = algo.mutator.derived_arch()
    table = algo.estimator.table
    want = 1.2 * path_sum(table, arch) + 0.05 * net_ops(arch) + 0.1
    report = check_budget(algo, **QUICK)
    assert report['target'] == 5.0 and report['calibrated'] is True
    assert report['predicted'] == pytest.approx(want)
    assert report['measured'] > 0
    line = budget_line(report)
    assert line.startswith(f'budget 5: derived {want:.3f} ms predicted, '
                           f'{report["measured"]:.3f} ms measured (')
    # through the runner hook: the line and budget.json in the work dir
    runner = types.SimpleNamespace(model=algo, work_dir=str(tmp_path))
    assert report_budget(runner, **QUICK).startswith('budget 5: derived')
    saved = json.loads((tmp_path / 'budget.json').read_text())
    assert saved['net_config'] == arch.to_net_config()
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
    from densenas_mm.experiments.search_quality import budget_text
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
