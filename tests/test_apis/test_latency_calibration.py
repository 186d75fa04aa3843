"""Calibration and held-out commands: the fit stored with its provenance,
held-out nets disjoint from the fit, the numbers reported; the audit
predicting with the calibration; ONNX Runtime as the timing backend."""
import json
from pathlib import Path

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.apis import latency_calibration as job
from densenas_mm.apis.latency_agreement import measure_nets, net_ops
from densenas_mm.apis.latency_audit import audit_arch
from densenas_mm.latency import (LatencyTable, LatencyTableError,
                                 build_latency_table, measure_signatures,
                                 space_ops)
from densenas_mm.latency.calibration import Calibration
from densenas_mm.search_space import load_preset
from helpers.fake_latency import CONFIG, DEMO_LUT, fake_measure
from helpers.tools import load_tool

QUICK = dict(rounds=1, warmup=0, min_repeats=1, max_repeats=1,
             extra_rounds=0)


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
    assert data['entries'] == json.loads(Path(DEMO_LUT).read_text())['entries']


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
    return fake_measure(monkeypatch, lambda call, i: factors[call])


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
    table = LatencyTable.load(DEMO_LUT)
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
