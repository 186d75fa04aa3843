"""The level check: a calibration's own nets timed again, the calibration
rescaled to the machine's speed of the day, or a new fit asked for."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.apis import latency_calibration, latency_level as job
from densenas_mm.apis.random_arch import build_search_mutator, random_arch
from densenas_mm.latency import LatencyTable
from helpers.fake_latency import CONFIG, fake_measure
from helpers.tools import load_tool


def _slowed(monkeypatch, factors):
    """Whole nets now 'measure' TRUTH's model times ``factors`` (cycled
    over the nets)."""
    return fake_measure(monkeypatch, lambda call, i: factors[i % len(factors)])


def test_level_check_rescales_the_calibration_to_today(
        fake_timing, demo_lut, tmp_path, monkeypatch):
    latency_calibration.calibrate_table(CONFIG, demo_lut, nets=6, seed=0)
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
    latency_calibration.calibrate_table(CONFIG, demo_lut, nets=6, seed=0)
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
    latency_calibration.calibrate_table(CONFIG, demo_lut, nets=5, seed=0)
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
