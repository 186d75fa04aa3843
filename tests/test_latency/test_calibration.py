"""The calibration model: fit, bounds on its terms, (de)serialisation in a
version 3 table; v1/v2 tables load uncalibrated with one info message;
entry bounds and duplicated keys."""
import json
import logging

import numpy as np
import pytest

import densenas_mm  # noqa: F401
from densenas_mm.latency import (LatencyTable, LatencyTableError, OpSignature,
                                 table_io)
from densenas_mm.latency.accuracy import (equal_latency_bins,
                                          prediction_accuracy)
from densenas_mm.latency.calibration import (Calibration, NetSample,
                                             fit_calibration)

META = dict(device='test-device', batch_size=32, dtype='float32',
            memory_format='contiguous', unit='ms')
SIG = OpSignature('mbconv_k3_t6', 16, 24, 2, 112, 112, 32)


def samples(scale=1.2, per_op=0.1, constant=0.3, noise=0.0, n=12):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        lut, ops = 2.0 + 0.7 * i, 6 + (i * 5) % 7
        true = scale * lut + per_op * ops + constant
        out.append(NetSample(f'net{i}', lut, ops,
                             true * (1 + noise * rng.standard_normal())))
    return out


def test_fit_recovers_the_model_and_reports_it():
    cal = fit_calibration(samples(), provenance=dict(seed=7))
    assert (cal.scale, cal.per_op, cal.constant) == pytest.approx(
        (1.2, 0.1, 0.3), abs=1e-9)
    fit = cal.fit
    assert fit['nets'] == 12 and fit['seed'] == 7
    assert fit['r2'] == pytest.approx(1.0) and fit['max_abs_rel_error'] < 1e-9
    assert fit['terms'] == ['scale', 'per_op', 'constant']
    assert len(fit['samples']) == 12 and fit['samples'][0]['net'] == 'net0'
    # the raw sums were 1 - 2.0 / (2.4 + 0.6 + 0.3) = 39 % low on net0
    assert fit['uncalibrated_mean_abs_rel_error'] > 0.1
    assert 'measured = 1.2000 x LUT' in cal.describe()
    assert cal.net_cost(2.0, 6) == pytest.approx(3.3)
    assert cal.op_cost(1.0) == pytest.approx(1.3)
    assert cal.op_cost(1.0, is_skip=True) == 0.0


def test_negative_overheads_are_dropped_not_fitted():
    # measured = 1.5 x LUT - 0.2 per op: per_op is refused, scale refitted
    data = samples(scale=1.5, per_op=-0.05, constant=0.0)
    cal = fit_calibration(data)
    assert cal.per_op == 0.0 and cal.scale > 0
    assert 'per_op' not in cal.fit['terms']
    with pytest.raises(ValueError, match='cannot fit 3 terms'):
        fit_calibration(data[:2])
    with pytest.raises(ValueError, match='must hold "scale"'):
        fit_calibration(data, terms=('per_op', ))


def test_scale_only_fit():
    cal = fit_calibration(samples(per_op=0.0, constant=0.0), terms=('scale', ))
    assert cal.scale == pytest.approx(1.2) and cal.constant == 0.0


def test_calibrated_table_round_trip_and_lookups(tmp_path):
    table = LatencyTable(META, calibration=Calibration(2.0, 0.1, 0.5,
                                                       dict(nets=3)))
    table.add(SIG, 1.5, 0.1, 20)
    path = tmp_path / 't.json'
    table.save(str(path))
    data = json.loads(path.read_text())
    assert data['version'] == 3 and data['calibration']['scale'] == 2.0
    loaded = LatencyTable.load(str(path))
    assert loaded.calibration == Calibration(2.0, 0.1, 0.5)
    assert loaded.calibration.fit == dict(nets=3)
    assert loaded.latency(SIG) == 1.5
    assert loaded.latency(SIG, calibrated=True) == pytest.approx(3.1)
    assert loaded.net_constant(True) == 0.5 and loaded.net_constant() == 0.0
    skip = OpSignature('skip_connect', 24, 24, 1, 56, 56, 32)
    loaded.add(skip, 0.004, 0.0, 1)
    assert loaded.latency(skip) == 0.004
    assert loaded.latency(skip, calibrated=True) == 0.0


@pytest.mark.parametrize('cal,match', [
    ('x', 'must be an object or null'),
    (dict(per_op=0.1), 'needs "scale"'),
    (dict(scale=1.0, slope=2), "unknown keys \\['slope'\\]"),
    (dict(scale=0.0), 'scale must be a finite number > 0'),
    (dict(scale=1.0, per_op=-0.1), 'per_op must be a finite number >= 0'),
    (dict(scale=1.0, constant=float('nan')), 'constant must be'),
    (dict(scale=1.0, fit=[1]), 'fit must be an object'),
])
def test_bad_calibration_is_refused(cal, match):
    data = LatencyTable(META).to_dict()
    data['calibration'] = cal
    with pytest.raises(LatencyTableError, match=match):
        LatencyTable.from_dict(data, 'bad.json')


@pytest.mark.parametrize('version', [1, 2])
def test_old_tables_load_uncalibrated_with_one_info_message(version,
                                                             monkeypatch):
    table = LatencyTable(META)
    table.add(SIG, 1.5, 0.1, 20)
    data = table.to_dict()
    data['version'] = version
    # a calibration in an old file is not read
    data['calibration'] = dict(scale=3.0)
    if version == 1:
        for entry in data['entries'].values():
            del entry['latency']
    said = []
    monkeypatch.setattr(
        table_io, 'print_log',
        lambda msg, logger=None, level=logging.INFO: said.append((msg, level)))
    loaded = LatencyTable.from_dict(data, 'old.json')
    assert loaded.calibration is None and loaded.version == version
    assert len(said) == 1 and said[0][1] == logging.INFO
    assert f'schema version {version}: it has no whole-net calibration' in (
        said[0][0])
    assert loaded.latency(SIG, calibrated=True) == 1.5


@pytest.mark.parametrize('value,match', [
    (0.0, 'latency is 0'),
    (-1.0, r'latency must be a finite number in \[0, 100000\)'),
    (1e5, r'latency must be a finite number in \[0, 100000\)'),
    (float('inf'), 'latency must be'),
    (True, 'latency must be'),
])
def test_entry_latency_must_be_finite_positive_and_bounded(value, match):
    table = LatencyTable(META)
    table.add(SIG, 1.5, 0.1, 20)
    data = table.to_dict()
    data['entries'][SIG.key]['latency'] = value
    with pytest.raises(LatencyTableError, match=match):
        LatencyTable.from_dict(data, 'bad.json')


def test_duplicated_key_is_refused_naming_it(tmp_path):
    table = LatencyTable(META)
    table.add(SIG, 1.5, 0.1, 20)
    text = json.dumps(table.to_dict(), indent=1)
    entry = json.dumps(table.to_dict()['entries'][SIG.key])
    dup = text.replace('"entries": {', '"entries": {\n  "' + SIG.key +
                       '": ' + entry + ',', 1)
    path = tmp_path / 'dup.json'
    path.write_text(dup)
    assert json.loads(dup)['entries'][SIG.key]['latency'] == 1.5  # plain
    with pytest.raises(LatencyTableError,
                       match=f"key '{SIG.key}' appears twice"):
        LatencyTable.load(str(path))
    path.write_text(text.replace('"unit": "ms"', '"unit": "ms", "unit": "s"'))
    with pytest.raises(LatencyTableError, match="key 'unit' appears twice"):
        LatencyTable.load(str(path))


def test_backend_is_validated():
    with pytest.raises(LatencyTableError, match="'backend' must be one of"):
        LatencyTable(dict(META, backend='tvm'))
    with pytest.raises(LatencyTableError, match='times on the CPU'):
        LatencyTable(dict(META, backend='onnxruntime-cpu',
                          device_type='cuda'))
    assert LatencyTable(META).backend == 'torch'
    assert LatencyTable(dict(META, backend='onnxruntime-cpu')).backend == (
        'onnxruntime-cpu')


def test_equal_latency_bins_and_accuracy_numbers():
    pred = [1.0, 1.05, 1.09, 1.5, 2.0, 2.02]
    assert equal_latency_bins(pred) == [[0, 1, 2], [3], [4, 5]]
    meas = [1.0, 1.1, 1.05, 1.5, 2.2, 2.0]
    acc = prediction_accuracy(pred, meas)
    rel = [abs(p - m) / m for p, m in zip(pred, meas)]
    assert acc['mean_abs_rel_error'] == pytest.approx(sum(rel) / 6)
    assert acc['max_abs_rel_error'] == pytest.approx(max(rel))
    assert acc['within_5pct'] == pytest.approx(5 / 6)  # all but 2.0 v 2.2
    assert acc['within_10pct'] == pytest.approx(6 / 6)
    # within bins: (0,1) c, (0,2) c, (1,2) d; (4,5) d -> (2 - 2) / 4
    assert acc['bin_pairs'] == 4 and acc['kendall_tau_in_bins'] == 0.0
    # all 15 pairs: 2 discordant
    assert acc['kendall_tau'] == pytest.approx((13 - 2) / 15)
    assert [b['nets'] for b in acc['bins']] == [3, 2]
    assert acc['bins'][0]['spread'] == pytest.approx(0.1 / (3.15 / 3))
    assert acc['max_spread'] == pytest.approx(0.1 / (3.15 / 3))
    # one net: its error, no pairs to rank
    one = prediction_accuracy([1.02], [1.0])
    assert one['nets'] == 1 and one['bins'] == [] and one['bin_pairs'] == 0
    assert one['mean_abs_rel_error'] == pytest.approx(0.02)
    assert one['within_5pct'] == 1.0 and np.isnan(one['kendall_tau'])
    with pytest.raises(ValueError, match='need >= 1 net'):
        prediction_accuracy([], [])
    with pytest.raises(ValueError, match='got 2 and 1'):
        prediction_accuracy([1.0, 2.0], [1.0])


def test_machine_drift_and_level_spread_numbers():
    from densenas_mm.latency.calibration import level_spread, machine_drift
    assert machine_drift([2.0, 4.0], [1.0, 4.0]) == pytest.approx(0.5**0.5)
    assert machine_drift([3.0, 5.0, 7.0], [3.3, 5.5, 7.7]) == \
        pytest.approx(1.1)
    assert level_spread([3.0, 5.0, 7.0], [3.3, 5.5, 7.7]) == pytest.approx(
        0.0, abs=1e-12)
    # ratios 0.5 and 1: log ratios -ln 2 and 0, std ln(2) / 2
    assert level_spread([2.0, 4.0], [1.0, 4.0]) == pytest.approx(
        np.log(2) / 2)
    with pytest.raises(ValueError, match='two lists of one length'):
        machine_drift([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match='two lists of one length'):
        machine_drift([], [])
    with pytest.raises(ValueError, match='must be > 0 ms'):
        level_spread([1.0, 0.0], [1.0, 1.0])


def test_at_level_rescales_from_the_fit_and_round_trips(tmp_path):
    fitted = Calibration(1.2, 0.1, 0.3, dict(nets=3))
    assert fitted.level == 1.0
    today = fitted.at_level(0.8, dict(date='d1', load=[1.0]))
    assert (today.scale, today.per_op, today.constant) == pytest.approx(
        (0.96, 0.08, 0.24))
    assert today.net_cost(2.0, 6) == pytest.approx(0.8 * fitted.net_cost(
        2.0, 6))
    later = today.at_level(1.1, dict(date='d2'))
    assert later.scale == pytest.approx(1.32)  # 1.1 x the fit, not x 0.8
    assert later.fit['level_checks'] == [
        dict(date='d1', load=[1.0], level=0.8), dict(date='d2', level=1.1)]
    assert later.fit['nets'] == 3 and 'level_checks' not in fitted.fit
    table = LatencyTable(META, calibration=later)
    table.save(str(tmp_path / 't.json'))
    loaded = LatencyTable.load(str(tmp_path / 't.json')).calibration
    assert loaded.level == pytest.approx(1.1)
    assert loaded.scale == pytest.approx(1.32)
    for bad in (0.0, -1.0, float('nan'), float('inf')):
        with pytest.raises(ValueError, match='finite number > 0'):
            fitted.at_level(bad)


@pytest.mark.parametrize('level', [0, -0.5, 'x', True, float('nan')])
def test_bad_level_is_refused_at_load(level):
    data = LatencyTable(META).to_dict()
    data['calibration'] = dict(scale=1.0, fit=dict(level=level))
    with pytest.raises(LatencyTableError,
                       match='fit.level must be a finite number > 0'):
        LatencyTable.from_dict(data, 'bad.json')
