"""Calibration and held-out commands: the fit stored with its provenance,
held-out nets disjoint from the fit, the numbers reported; the level
check rescaling a calibration to the machine's speed of the day; the audit
predicting with the calibration; ONNX Runtime as the timing backend."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.apis import latency_calibration as job
from densenas_mm.apis.latency_agreement import measure_nets, net_ops, path_sum
from densenas_mm.apis.latency_audit import audit_arch
from densenas_mm.apis.random_arch import build_search_mutator, random_arch
from densenas_mm.latency import (LatencyTable, LatencyTableError,
                                 build_latency_table, measure_signatures,
                                 space_ops)
from densenas_mm.latency.calibration import Calibration
from densenas_mm.search_space import load_preset
from helpers.tools import load_tool

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / 'configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py')
DEMO_LUT = REPO / 'docs/records/demo_lut_epyc_t1.json'
TRUTH = Calibration(1.3, 0.05, 0.2)
QUICK = dict(rounds=1, warmup=0, min_repeats=1, max_repeats=1,
             extra_rounds=0)


class FakeStats:

    def __init__(self, value):
        self.value, self.rel_err = value, 0.01


@pytest.fixture
def fake_timing(monkeypatch):
    """Whole nets 'measure' exactly TRUTH's model of their LUT sum."""
    seen = []

    def measure(table, archs, device='cpu', backend=None, **timing):
        seen.append([a.to_net_config() for a in archs])
        return [FakeStats(TRUTH.net_cost(path_sum(table, a), net_ops(a)))
                for a in archs]

    monkeypatch.setattr(job, 'measure_nets', measure)
    return seen


@pytest.fixture
def demo_lut(tmp_path):
    path = tmp_path / 'demo.json'
    shutil.copy(DEMO_LUT, path)
    return str(path)


def test_calibrate_fits_and_stores_with_provenance(fake_timing, demo_lut,
                                                   tmp_path):
    out = str(tmp_path / 'cal.json')
    tool = load_tool('analysis/calibrate_latency.py')
    assert tool.main([CONFIG, '--lut', demo_lut, '--nets', '8', '--seed',
                      '3', '--out', out]) == 0
    data = json.loads(Path(out).read_text())
    assert data['version'] == 3
    cal = LatencyTable.load(out).calibration
    assert (cal.scale, cal.per_op, cal.constant) == pytest.approx(
        (1.3, 0.05, 0.2), abs=1e-6)
    fit = cal.fit
    assert fit['nets'] == 8 and fit['seed'] == 3 and fit['backend'] == 'torch'
    assert fit['space'] == 'densenas_demo_32' and fit['r2'] > 0.999999
    assert {'date', 'host', 'device', 'load', 'threads'} <= set(fit)
    nets = [r['net'] for r in fit['samples']]
    assert len(set(nets)) == 8 and nets == fake_timing[0]
    # spread over the range: ordered by LUT sum, first and last far apart
    luts = [r['lut'] for r in fit['samples']]
    assert luts == sorted(luts) and luts[-1] > 1.5 * luts[0]
    # the entries are the table's, untouched
    assert data['entries'] == json.loads(DEMO_LUT.read_text())['entries']


def test_heldout_uses_other_nets_and_reports(fake_timing, demo_lut,
                                             tmp_path):
    job.calibrate_table(CONFIG, demo_lut, nets=6, seed=0)
    report_path = str(tmp_path / 'heldout.json')
    out = job.heldout_accuracy(CONFIG, demo_lut, nets=10, seed=0,
                               json=report_path)
    fitted, first, second = fake_timing
    assert first == second and len(first) == 10
    assert not set(fitted) & set(first)  # same seed, yet no fitted net
    report = json.loads(Path(report_path).read_text())
    assert report['calibrated']['max_abs_rel_error'] < 1e-6
    assert report['calibrated']['within_5pct'] == 1.0
    assert report['calibrated']['kendall_tau'] == 1.0
    assert report['uncalibrated']['mean_abs_rel_error'] > 0.15
    assert report['remeasurement']['max_abs_rel_error'] == 0.0
    assert len(report['nets']) == 10 and report['calibration']['scale'] == (
        pytest.approx(1.3))
    assert 'calibrated ' in out.out and 're-measurement' in out.out


def _per_pass(monkeypatch, factors):
    """Pass k 'measures' every net at TRUTH's model times ``factors[k]``:
    a machine whose speed moved between the two passes."""
    seen = []

    def measure(table, archs, device='cpu', backend=None, **timing):
        factor = factors[len(seen)]
        seen.append([a.to_net_config() for a in archs])
        return [FakeStats(factor * TRUTH.net_cost(path_sum(table, a),
                                                  net_ops(a)))
                for a in archs]

    monkeypatch.setattr(job, 'measure_nets', measure)
    return seen


def test_heldout_levels_each_pass(fake_timing, demo_lut, monkeypatch):
    job.calibrate_table(CONFIG, demo_lut, nets=6, seed=0)
    fitted = [r['net'] for r in
              LatencyTable.load(demo_lut).calibration.fit['samples']]
    seen = _per_pass(monkeypatch, [1.2, 0.9])
    out = job.heldout_accuracy(CONFIG, demo_lut, nets=8, seed=0,
                               level_each_pass=True)
    assert out.status == 0
    report = out.result
    # each pass: the 8 held-out nets, then the fit's 6 nets, in one rounds
    assert len(seen) == 2 and seen[0] == seen[1]
    assert seen[0][8:] == fitted and not set(seen[0][:8]) & set(fitted)
    assert [c['change'] for c in report['pass_levels']] == pytest.approx(
        [1.2, 0.9])
    # the raw rows carry the machine's move, the leveled rows do not
    assert report['calibrated']['mean_abs_rel_error'] == pytest.approx(
        1 - 1 / 1.2)
    assert report['remeasurement']['mean_abs_rel_error'] == pytest.approx(
        1 - 0.9 / 1.2)
    assert report['leveled']['max_abs_rel_error'] < 1e-5
    assert report['remeasurement_leveled']['max_abs_rel_error'] < 1e-5
    assert report['leveled']['within_5pct'] == 1.0
    assert 'machine level in each pass' in out.out
    assert '1.200 (spread 0.0 %), 0.900' in out.out
    # relative to the table's level: a table already at 1.2 sees no move
    cal = LatencyTable.load(demo_lut)
    cal.calibration = cal.calibration.at_level(1.2)
    cal.save(demo_lut)
    _per_pass(monkeypatch, [1.2, 1.2])
    report = job.heldout_accuracy(CONFIG, demo_lut, nets=8, seed=0,
                                  level_each_pass=True).result
    assert [c['change'] for c in report['pass_levels']] == pytest.approx(
        [1.0, 1.0])
    assert report['calibrated']['max_abs_rel_error'] < 1e-5


def test_heldout_levels_need_calibration_nets(demo_lut):
    out = job.heldout_accuracy(CONFIG, demo_lut, nets=4, seed=0,
                               level_each_pass=True)
    assert out.status == 2 and 'has no calibration with its nets' in out.err


def test_a_table_of_another_backend_is_refused(demo_lut):
    with pytest.raises(LatencyTableError, match="timed with backend 'torch'"):
        job.calibrate_table(CONFIG, demo_lut, nets=3,
                            backend='onnxruntime-cpu')


def test_real_timing_of_a_few_nets(demo_lut, one_cpu_thread):
    """End to end on this CPU (loaded: nothing asserted of the fit's
    quality, only that it is a fit of these measurements)."""
    out = job.calibrate_table(CONFIG, demo_lut, nets=4, seed=0,
                              terms=('scale', ), **QUICK)
    cal = out.result
    assert cal.scale > 0 and cal.per_op == 0.0 and len(
        cal.fit['samples']) == 4
    assert all(r['measured'] > 0 for r in cal.fit['samples'])


def test_audit_predicts_with_the_calibration(one_cpu_thread):
    table = LatencyTable.load(str(DEMO_LUT))
    table.calibration = Calibration(2.0, 0.1, 0.5)
    from densenas_mm.apis.latency_agreement import random_archs
    arch = random_archs(CONFIG, 1, seed=0)[0]
    rows = audit_arch(arch, table, **QUICK)
    raw = audit_arch(arch, table, calibrated=False, **QUICK)
    assert rows[-1].predicted == pytest.approx(
        2.0 * raw[-1].predicted + 0.1 * net_ops(arch) + 0.5)
    assert rows[0].predicted == pytest.approx(2.0 * raw[0].predicted + 0.1 +
                                              0.5)


def test_onnxruntime_backend_builds_and_times(one_cpu_thread):
    pytest.importorskip('onnxruntime')
    space = load_preset('densenas_demo_32')
    sigs = space_ops(space, batch_size=2).unique()[:2]
    timed = measure_signatures(sigs, 'cpu', space.act, 2,
                               backend='onnxruntime-cpu', clock='wall',
                               warmup=0, min_repeats=1, max_repeats=1)
    assert set(timed) == {s.key for s in sigs}
    assert all(len(v) == 2 and v[0].stats.mean > 0 for v in timed.values())
    # a table timed with ONNX Runtime says so, and times nets with it
    table, _ = build_latency_table(
        space, batch_size=2, backend='onnxruntime-cpu', progress=False,
        rounds=1, warmup=0, min_repeats=1, max_repeats=1)
    assert table.backend == 'onnxruntime-cpu'
    assert table.metadata['clock'] == 'wall'
    from densenas_mm.apis.latency_agreement import random_archs
    arch = random_archs(CONFIG, 1, seed=0)[0]
    stats = measure_nets(table, [arch], **QUICK)
    assert stats[0].value > 0
    with pytest.raises(LatencyTableError, match="not 'torch'"):
        measure_nets(table, [arch], backend='torch', **QUICK)
    with pytest.raises(ValueError, match='float32 contiguous inputs'):
        build_latency_table(space, batch_size=2, backend='onnxruntime-cpu',
                            dtype='float64', progress=False)


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')
def test_real_cuda_table_calibrates_with_cuda_events(tmp_path):
    space = load_preset('densenas_demo_32')
    out = str(tmp_path / 'gpu.json')
    table, _ = build_latency_table(space, 'cuda', out=out, batch_size=32,
                                   progress=False, rounds=2)
    meta = LatencyTable.load(out).metadata
    assert meta['gpu_name'] == torch.cuda.get_device_name()
    assert meta['clock'] == 'cuda' and 'cudnn_benchmark' in meta
    result = job.calibrate_table(CONFIG, out, nets=4, device='cuda',
                                 terms=('scale', ), rounds=2)
    cal = LatencyTable.load(out).calibration
    assert cal.scale > 0 and cal.fit['device'] == meta['gpu_name']
    assert result.result.fit['nets'] == 4


def _slowed(monkeypatch, factors):
    """Whole nets now 'measure' TRUTH's model times ``factors`` (cycled)."""
    seen = []

    def measure(table, archs, device='cpu', backend=None, **timing):
        seen.append([a.to_net_config() for a in archs])
        return [FakeStats(factors[i % len(factors)] *
                          TRUTH.net_cost(path_sum(table, a), net_ops(a)))
                for i, a in enumerate(archs)]

    monkeypatch.setattr(job, 'measure_nets', measure)
    return seen


def test_level_check_rescales_the_calibration_to_today(
        fake_timing, demo_lut, tmp_path, monkeypatch):
    job.calibrate_table(CONFIG, demo_lut, nets=6, seed=0)
    fitted = LatencyTable.load(demo_lut).calibration
    seen = _slowed(monkeypatch, [0.9])
    tool = load_tool('analysis/latency_level.py')
    today, report = str(tmp_path / 'today.json'), str(tmp_path / 'lv.json')
    assert tool.main([CONFIG, '--lut', demo_lut, '--out', today,
                      '--json', report]) == 0
    # the fit's own nets, in the fit's order, timed once
    assert seen == [[r['net'] for r in fitted.fit['samples']]]
    data = json.loads(Path(report).read_text())
    assert data['level'] == pytest.approx(0.9)
    assert data['change'] == pytest.approx(0.9)
    # (the fit stores its timings to 6 decimals)
    assert data['spread'] == pytest.approx(0.0, abs=1e-6)
    assert data['refit'] is False and data['nets'] == 6
    assert [r['ratio'] for r in data['nets_rows']] == pytest.approx([0.9] * 6)
    cal = LatencyTable.load(today).calibration
    assert (cal.scale, cal.per_op, cal.constant) == pytest.approx(
        (0.9 * 1.3, 0.9 * 0.05, 0.9 * 0.2), abs=1e-6)
    assert cal.level == pytest.approx(0.9)
    assert len(cal.fit['level_checks']) == 1
    assert cal.fit['samples'] == fitted.fit['samples']
    assert 'rescaled to 0.9000 x the level of the fit' in cal.describe()
    # a second check is relative to the fit, not to the last level
    _slowed(monkeypatch, [1.1])
    out = job.check_level(CONFIG, today, out=today)
    assert out.result['level'] == pytest.approx(1.1)
    assert out.result['change'] == pytest.approx(1.1 / 0.9)
    cal = LatencyTable.load(today).calibration
    assert cal.scale == pytest.approx(1.1 * 1.3, abs=1e-6)
    assert [c['level'] for c in cal.fit['level_checks']] == pytest.approx(
        [0.9, 1.1])
    # the input table is left as it was
    assert LatencyTable.load(demo_lut).calibration.level == 1.0


def test_level_check_says_when_to_fit_again(fake_timing, demo_lut,
                                            monkeypatch):
    job.calibrate_table(CONFIG, demo_lut, nets=6, seed=0)
    _slowed(monkeypatch, [0.8, 1.2])
    out = job.check_level(CONFIG, demo_lut)
    assert out.status == 0
    assert out.result['level'] == pytest.approx((0.8 * 1.2)**0.5)
    assert out.result['spread'] == pytest.approx(
        abs(np.log(1.2 / 0.8)) / 2)
    assert out.result['refit'] is True
    assert 'calibrate again' in out.out and 'give --out' in out.out
    assert LatencyTable.load(demo_lut).calibration.level == 1.0


def test_level_check_needs_a_calibrated_table(demo_lut):
    out = job.check_level(CONFIG, demo_lut)
    assert out.status == 2
    assert 'has no calibration with its nets' in out.err
    assert 'calibrate_latency.py' in out.err


def test_measure_level_leaves_the_table_and_records_the_check(
        fake_timing, demo_lut, monkeypatch):
    job.calibrate_table(CONFIG, demo_lut, nets=5, seed=0)
    table = LatencyTable.load(demo_lut)
    fitted = table.calibration
    like = random_arch(build_search_mutator(CONFIG),
                       torch.Generator().manual_seed(0))
    nets = job.calibration_nets(table, like)
    _slowed(monkeypatch, [1.25])
    check, stats, leveled = job.measure_level(table, nets, 'cpu', 'torch',
                                              dict(why='test'))
    assert check['level'] == pytest.approx(1.25) and check['nets'] == 5
    assert len(stats) == 5
    assert leveled.scale == pytest.approx(1.25 * fitted.scale, rel=1e-6)
    assert leveled.level == pytest.approx(1.25)
    record = leveled.fit['level_checks'][-1]
    assert record['why'] == 'test' and record['nets'] == 5
    assert record['level'] == pytest.approx(1.25)
    assert record['change'] == pytest.approx(1.25)
    # the table keeps its calibration; a copy carries the new one
    assert table.calibration is fitted and fitted.level == 1.0
    copy = table.with_calibration(leveled)
    assert copy.calibration is leveled and len(copy) == len(table)
    assert copy.entries == table.entries and copy.entries is not table.entries
    copy.metadata['note'] = 'x'
    assert 'note' not in table.metadata
