"""Build-to-build and rank agreement of latency tables (stand-in timings)."""
import json
from pathlib import Path

import pytest

import densenas_mm  # noqa: F401
from densenas_mm.apis import latency_agreement as agreement
from densenas_mm.apis import latency_audit as audit_mod
from densenas_mm.latency import LatencyTable, space_ops
from densenas_mm.models.estimators.complexity import signature_params
from densenas_mm.search_space import load_preset
from helpers.timings import ms_rounds
from helpers.tools import load_tool

REPO = Path(__file__).resolve().parents[2]
SEARCH_CFG = str(REPO / 'configs/densenas/'
                 'densenas_supernet-demo_1xb32-20e_digits.py')
META = dict(
    device='test-device',
    batch_size=32,
    dtype='float32',
    memory_format='contiguous',
    unit='ms',
    clock='wall',
    statistic='median_of_medians')


def params_table(scale=1.0, doubled=None):
    """A demo table whose entries are the ops' parameters / 1000 'ms'."""
    table = LatencyTable(dict(META))
    for sig in space_ops(
            load_preset('densenas_demo_32'), batch_size=32).unique():
        value = scale * signature_params(sig) / 1e3
        table.add(sig, 2 * value if sig.key == doubled else value, 0.0, 1)
    return table


@pytest.fixture(scope='module')
def archs():
    return agreement.random_archs(SEARCH_CFG, 10, seed=0)


def test_random_archs_are_seeded(archs):
    again = agreement.random_archs(SEARCH_CFG, 10, seed=0)
    assert [a.to_net_config()
            for a in archs] == [a.to_net_config() for a in again]
    assert len({a.to_net_config() for a in archs}) > 5


def test_compare_tables(archs):
    a = params_table()
    used = {
        s.key
        for arch in archs
        for _, sigs in agreement.arch_parts(arch, 32)
        for s in sigs
    }
    unused = sorted(set(a.entries) - used)[0]
    b = params_table(1.1, doubled=unused)
    report = agreement.compare_tables(a, b, archs)
    assert report['entries'] == 46
    # 45 entries 10 % apart, one (on no net's path) 120 %
    assert report['entry']['median'] == pytest.approx(0.1)
    assert report['entry']['max'] == pytest.approx(1.2)
    assert report['worst'][0]['key'] == unused
    assert report['path']['median'] == pytest.approx(0.1)
    assert report['path']['max'] == pytest.approx(0.1)
    assert len(report['paths']) == 10
    with pytest.raises(ValueError, match='share no entry'):
        agreement.compare_tables(a, LatencyTable(dict(META)))


def params_timing(factors=(1.0, 1.02, 0.98), invert=False):
    """Stand-in for time_modules: a module 'takes' its parameters / 1000 ms
    (or 1000 / parameters, ``invert``) times the round's factor."""

    def fake(items, rounds, **timing):
        out = {}
        for key, (module, _) in items.items():
            ms = sum(p.numel() for p in module.parameters()) / 1e3
            ms = 1 / ms if invert else ms
            out[key] = ms_rounds([[ms * factors[i % len(factors)]]
                                  for i in range(rounds)])
        return out

    return fake


def test_rank_agreement_of_a_faithful_table(archs, monkeypatch):
    monkeypatch.setattr(audit_mod, 'time_modules', params_timing())
    report = agreement.rank_agreement(params_table(), archs, rounds=3)
    assert report['kendall_tau'] == pytest.approx(1.0)
    assert report['spearman_rho'] == pytest.approx(1.0)
    assert report['clock'] == 'wall' and len(report['nets']) == 10
    for net in report['nets']:
        assert net['rel_error'] == pytest.approx(0.0, abs=1e-9)
        assert net['predicted_ms'] == pytest.approx(net['measured_ms'])
        # rounds x1.0, x1.02, x0.98: MAD 0.02 -> 1.858 * 0.02 / sqrt(3)
        assert net['noise'] == pytest.approx(0.02146, abs=1e-4)
        assert len(net['rounds']) == 3  # they agree: no extra round
    assert len(report['load_before']) == 3
    with pytest.raises(ValueError, match='needs >= 2 nets'):
        agreement.rank_agreement(params_table(), archs[:1])


def test_rank_agreement_of_nets_in_reverse_order(archs, monkeypatch):
    monkeypatch.setattr(audit_mod, 'time_modules', params_timing(invert=True))
    report = agreement.rank_agreement(params_table(), archs, rounds=3)
    assert report['kendall_tau'] == pytest.approx(-1.0)
    assert report['spearman_rho'] == pytest.approx(-1.0)


def test_command_line_random_and_compare(archs, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(audit_mod, 'time_modules', params_timing())
    tool = load_tool('analysis/latency_audit.py')
    lut, other = tmp_path / 'a.json', tmp_path / 'b.json'
    params_table().save(str(lut))
    params_table(1.1).save(str(other))
    out = tmp_path / 'rank.json'
    assert tool.main([
        '--random', '10', '--config', SEARCH_CFG, '--lut',
        str(lut), '--rounds', '3', '--json',
        str(out)
    ]) == 0
    text = capsys.readouterr().out
    assert "Kendall's tau 1.000" in text and 'noise verdict unchecked' in text
    report = json.loads(out.read_text())
    assert report['kendall_tau'] == pytest.approx(1.0)
    assert report['seed'] == 0 and 'latency_audit' in report['command']
    out = tmp_path / 'compare.json'
    assert tool.main([
        '--lut',
        str(lut), '--compare',
        str(other), '--random', '10', '--config', SEARCH_CFG, '--json',
        str(out)
    ]) == 0
    text = capsys.readouterr().out
    assert 'median 10.0 %' in text and 'path sums of 10 random nets' in text
    assert json.loads(out.read_text())['path']['max'] == pytest.approx(0.1)
