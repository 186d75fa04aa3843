"""Signal check: the pool, the latency window, the tool end to end and its
resume (densenas_mm.experiments.signal_check)."""
import json
import os.path as osp

import pytest

import densenas_mm  # noqa: F401
from densenas_mm.experiments import pool as P
from densenas_mm.experiments import signal_check as SC
from densenas_mm.structures import DerivedArch
from helpers.experiment_tools import (DIGITS_SEARCH, DIGITS_SUBNET,
                                      assert_resume_runs_nothing, demo_tool,
                                      retrain_tool_args)


@pytest.fixture(scope='module')
def pool_file(lut, tmp_path_factory):
    path = str(tmp_path_factory.mktemp('pool') / 'pool.json.gz')
    P.load_or_draw_pool(path, DIGITS_SEARCH, lut, seed=0, draws=300)
    return path


def test_pool_is_distinct_estimated_and_reproducible(lut, pool_file,
                                                     tmp_path):
    from densenas_mm.models.estimators import ChainedLatencyEstimator
    pool = P.read_pool(pool_file)
    assert pool['draws'] == 300 and pool['latency_key'] == 'latency'
    assert pool['lut_sha256'] == P.file_sha256(lut)
    configs = [DerivedArch.from_dict(e['arch']).to_net_config()
               for e in pool['archs']]
    assert 1 < len(configs) <= 300 and len(set(configs)) == len(configs)
    est = ChainedLatencyEstimator(lut=lut, target_device=None)
    for entry in pool['archs'][:5]:
        arch = DerivedArch.from_dict(entry['arch'])
        assert est.estimate(arch)['latency'] == pytest.approx(
            entry['latency'])
    # the same settings give the same bytes (gzip header time fixed)
    again = str(tmp_path / 'again.json.gz')
    P.load_or_draw_pool(again, DIGITS_SEARCH, lut, seed=0, draws=300)
    assert open(again, 'rb').read() == open(pool_file, 'rb').read()


def test_pool_of_other_settings_is_refused(lut, pool_file):
    # present: read back, not drawn again
    assert P.load_or_draw_pool(pool_file, DIGITS_SEARCH, lut, seed=0,
                                draws=300) == P.read_pool(pool_file)
    with pytest.raises(ValueError, match=r'other settings seed: 0 \(asked 1'):
        P.load_or_draw_pool(pool_file, DIGITS_SEARCH, lut, seed=1,
                             draws=300)
    with pytest.raises(ValueError, match='latency_key'):
        P.load_or_draw_pool(pool_file, DIGITS_SEARCH, lut, seed=0,
                             draws=300, latency_key='flops')


def test_unknown_latency_key_is_refused(lut):
    with pytest.raises(ValueError, match="no 'calibrated'.*'latency'"):
        P.draw_pool(DIGITS_SEARCH, lut, draws=3, latency_key='calibrated')


def test_pick_matched_window_and_order():
    pool = dict(archs=[dict(latency=x, arch=i) for i, x in enumerate(
        [10.0, 5.0, 5.04, 4.97, 7.0, 5.0, 5.2])])
    target, picked = P.pick_matched(pool, 3, latency=5.0, tolerance=0.01)
    assert target == 5.0
    assert [e['arch'] for e in picked] == [1, 2, 3]  # draw order
    target, picked = P.pick_matched(pool, 1, quantile=0.5, tolerance=0.0)
    assert target == 5.04 and [e['arch'] for e in picked] == [2]
    with pytest.raises(ValueError, match='only 1 of'):
        P.pick_matched(pool, 2, quantile=0.5, tolerance=0.0)
    with pytest.raises(ValueError, match='only 4 of the pool'):
        P.pick_matched(pool, 5, latency=5.0, tolerance=0.01)
    with pytest.raises(ValueError, match='not both'):
        P.pick_matched(pool, 1, latency=5.0, quantile=0.5)
    with pytest.raises(ValueError, match=r'in \[0, 1\]'):
        P.pick_matched(pool, 1, quantile=1.5)


def test_write_archs_refuses_a_work_dir_of_other_archs(pool_file, tmp_path):
    entries = P.read_pool(pool_file)['archs']
    paths = P.write_archs(entries[:2], str(tmp_path))
    assert [osp.basename(p) for p in paths] == ['arch_0.yaml', 'arch_1.yaml']
    assert P.write_archs(entries[:2], str(tmp_path)) == paths
    with pytest.raises(ValueError, match='use a new --work-dir'):
        P.write_archs(entries[1:3], str(tmp_path))


def test_bad_counts_are_refused(lut, tmp_path):
    with pytest.raises(ValueError, match='at least 2 architectures'):
        SC.signal_check(DIGITS_SEARCH, DIGITS_SUBNET, lut, archs=1,
                        work_dir=str(tmp_path))
    with pytest.raises(ValueError, match='exceeds the seed list'):
        SC.signal_check(DIGITS_SEARCH, DIGITS_SUBNET, lut, seeds=3,
                        seed_list=[0, 1], work_dir=str(tmp_path))


def test_finished_only_without_runs_says_so(lut, tmp_path):
    with pytest.raises(ValueError, match='0 finished run.*without '
                       '--finished-only'):
        SC.signal_check(DIGITS_SEARCH, DIGITS_SUBNET, lut, archs=2,
                        seeds=2, tolerance=1.0, pool_draws=100,
                        finished_only=True, work_dir=str(tmp_path))


@pytest.mark.slow
def test_signal_check_tool_end_to_end_and_resume(lut, tmp_path,
                                                 demo_data_root,
                                                 monkeypatch):
    """K=2 archs x S=2 seeds, 1 retrain epoch on the digits; a second call
    runs nothing and gives the same numbers."""
    tool = demo_tool('signal_check', monkeypatch, demo_data_root)
    wd = tmp_path / 'signal'
    args = retrain_tool_args(lut, wd, [
        '--archs', '2', '--seeds', '2', '--tolerance', '1.0',
        '--pool-draws', '200', '--retrain-epochs', '1', '--jobs', '2',
        '--bootstrap-reps', '200'
    ])
    result = tool.main(args)
    assert result['runs'] == 4 and result['new_runs'] == 4
    assert result['seeds'] == [0, 1]
    assert [len(n['top1_seeds']) for n in result['nets']] == [2, 2]
    assert all(0 <= t <= 100 for n in result['nets']
               for t in n['top1_seeds'])
    assert result['stats']['anova']['n_total'] == 4
    assert result['cpu_hours'] > 0
    saved = json.load(open(wd / 'signal.json'))
    assert saved['nets'] == result['nets']
    table = (wd / 'signal.md').read_text()
    assert '| arch_0 |' in table and 'ICC(1)' in table
    assert (wd / 'pool.json.gz').is_file()
    for k in (0, 1):
        for s in (0, 1):
            run = wd / 'runs' / f'arch_{k}_seed{s}'
            assert (run / 'metrics.json').is_file()
            cpu = json.load(open(run / 'cpu_train.json'))['cpu_s']
            assert cpu > 0
    # resume: every run reused, nothing rewritten, the same numbers
    again = assert_resume_runs_nothing(tool, args, wd, result)
    assert again['cpu_hours'] == pytest.approx(result['cpu_hours'])
    # a report of the finished runs only (a check split over sittings)
    (wd / 'runs' / 'arch_1_seed1' / 'done.json').unlink()
    partial = tool.main(args + ['--finished-only'])
    assert (partial['runs'], partial['planned_runs']) == (3, 4)
    assert partial['new_runs'] == 0
    assert [n['seeds'] for n in partial['nets']] == [[0, 1], [0]]
    assert partial['stats']['anova']['n_total'] == 3
    assert '| arch_1 |' in (wd / 'signal.md').read_text()
