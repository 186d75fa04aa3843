"""Searched vs random: baselines, ranks, the benchmark tool end to end."""
import json
import os.path as osp

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.apis.cli import parse_cfg_options
from densenas_mm.apis.launch import run_train
from densenas_mm.apis.random_arch import (build_search_mutator,
                                          matched_random_archs)
from densenas_mm.experiments import runs as R
from densenas_mm.experiments import search_quality_report as Q
from densenas_mm.experiments import workers as W
from densenas_mm.models.estimators import ChainedLatencyEstimator
from densenas_mm.structures import DerivedArch
from helpers import REPO_ROOT
from helpers.tools import load_tool

DIGITS_SEARCH = osp.join(REPO_ROOT, 'configs', 'densenas',
                         'densenas_supernet-demo_1xb32-20e_digits.py')
DIGITS_SUBNET = osp.join(REPO_ROOT, 'configs', 'densenas', 'subnets',
                         'densenas_subnet-demo_1xb32-10e_digits.py')


def test_rank_summary_numbers():
    s = Q.rank_summary([91.0, 85.0], [90.0, 92.0, 80.0, 86.0])
    assert s['random_mean'] == pytest.approx(87.0)
    assert s['random_std'] == pytest.approx(5.2915, abs=1e-4)
    assert (s['random_min'], s['random_max']) == (80.0, 92.0)
    assert s['ranks'] == [2, 4] and s['of'] == 5
    assert s['searched_mean'] == pytest.approx(88.0)
    one = Q.rank_summary([], [70.0])
    assert one['random_std'] is None and 'ranks' not in one


def test_matched_random_archs_are_distinct_and_closest_first(lut):
    mutator = build_search_mutator(DIGITS_SEARCH)
    est = ChainedLatencyEstimator(lut=lut, target_device=None)
    est.bind(mutator.space)
    gen = torch.Generator().manual_seed(0)
    picked = matched_random_archs(mutator, est, 6.0, gen, count=5,
                                  draws=300)
    errors = [abs(lat - 6.0) for lat, _ in picked]
    assert errors == sorted(errors) and len(picked) == 5
    assert len({a.to_net_config() for _, a in picked}) == 5
    for lat, arch in picked:
        assert est.estimate(arch)['latency'] == pytest.approx(lat)
    with pytest.raises(ValueError, match='fewer than the 10000 asked'):
        matched_random_archs(mutator, est, 6.0, gen, count=10000, draws=50)


def test_random_baselines_files_and_tolerance(lut, tmp_path):
    out = R.random_baselines(DIGITS_SEARCH, lut, 6.0, 3, str(tmp_path),
                             tolerance=0.5, draws=500)
    assert [r.name for r in out] == ['random_0', 'random_1', 'random_2']
    for r in out:
        arch = DerivedArch.load(r.arch)
        assert arch.meta['matched_latency'] == 6.0
        assert abs(r.lut_latency / 6.0 - 1) <= 0.5
        assert r.lut_latency == pytest.approx(R.arch_latency(r.arch, lut))
    with pytest.raises(RuntimeError, match='raise --tolerance'):
        R.random_baselines(DIGITS_SEARCH, lut, 6.0, 50, str(tmp_path),
                           tolerance=1e-6, draws=500)


def test_failing_run_reports_its_log(tmp_path):
    with pytest.raises(
            RuntimeError,
            match="(?s)train failed \\(exit 1\\).*no/such/config.py"):
        W.run_job('train', run_train, dict(config='no/such/config.py'),
                  str(tmp_path / 'x.log'))


def test_reuse_skips_a_run_with_the_same_call(tmp_path):
    log = tmp_path / 'run' / 'x.log'
    W.run_job('first', parse_cfg_options, dict(options=['a=1']), str(log))
    done = json.loads((tmp_path / 'run' / W.DONE_FILE).read_text())
    assert done['first'] == dict(
        call='densenas_mm.apis.cli.parse_cfg_options',
        kwargs=dict(options=['a=1']), checkout=W.REPO_ROOT)
    log.unlink()
    W.run_job('first', parse_cfg_options, dict(options=['a=1']), str(log),
              reuse=True)
    assert not log.exists()  # same call, finished: not run again
    W.run_job('first', parse_cfg_options, dict(options=['a=2']), str(log),
              reuse=True)
    assert log.exists()  # other arguments: runs again
    log.unlink()
    W.run_job('second', parse_cfg_options, dict(options=['a=1']), str(log),
              reuse=True)
    assert log.exists()  # another job in the same dir runs
    done = json.loads((tmp_path / 'run' / W.DONE_FILE).read_text())
    assert sorted(done) == ['first', 'second']


def test_a_run_records_its_cpu_time_and_the_cpu_that_ran_it(tmp_path):
    from densenas_mm.latency.measure import cpu_name
    log = tmp_path / 'run' / 'x.log'
    W.run_job('first', parse_cfg_options, dict(options=['a=1']), str(log))
    record = json.loads((tmp_path / 'run' / 'cpu_first.json').read_text())
    assert record['cpu'] == cpu_name() and record['cpu_s'] >= 0
    assert W.cpu_seconds(str(tmp_path / 'run')) == record['cpu_s']
    assert W.run_usage(str(tmp_path / 'run')) == (record['cpu_s'],
                                                  cpu_name())
    # a run whose jobs ran on two machines names both; an older record
    # (no cpu entry) or no record at all is "not recorded"
    (tmp_path / 'run' / 'cpu_test.json').write_text(
        json.dumps(dict(cpu_s=2.5, cpu='Other CPU')))
    assert W.run_usage(str(tmp_path / 'run')).machine == ' + '.join(
        sorted([cpu_name(), 'Other CPU']))
    assert W.cpu_seconds(str(tmp_path / 'run')) == pytest.approx(
        record['cpu_s'] + 2.5)
    old = tmp_path / 'old'
    old.mkdir()
    (old / 'cpu_train.json').write_text(json.dumps(dict(cpu_s=1.0)))
    assert W.run_usage(str(old)) == (1.0, W.UNRECORDED_MACHINE)
    assert W.run_usage(str(tmp_path / 'none')) == (0.0,
                                                   W.UNRECORDED_MACHINE)


def test_reuse_survives_a_moved_checkout(tmp_path, monkeypatch):
    """A job finished in one checkout is reused in a copy elsewhere (its
    work dir copied along): paths in the checkout compare relative to it;
    a path outside it still has to be the same."""
    import shutil
    old, new = tmp_path / 'old', tmp_path / 'new'
    monkeypatch.setattr(W, 'REPO_ROOT', str(old))
    rel = osp.join('work_dirs', 'exp', 'run')
    arg = dict(path=str(old / 'docs' / 't.json'))
    W.run_job('j', osp.exists, arg, str(old / rel / 'x.log'))
    done = json.loads((old / rel / W.DONE_FILE).read_text())
    assert done['j']['kwargs'] == arg  # recorded as given
    assert done['j']['checkout'] == str(old)
    assert W.portable_record(arg, str(old)) == dict(
        path=osp.join('<checkout>', 'docs', 't.json'))
    shutil.copytree(old / 'work_dirs', new / 'work_dirs')
    (new / rel / 'x.log').unlink()
    monkeypatch.setattr(W, 'REPO_ROOT', str(new))
    W.run_job('j', osp.exists, dict(path=str(new / 'docs' / 't.json')),
              str(new / rel / 'x.log'), reuse=True)
    assert not (new / rel / 'x.log').exists()  # reused
    W.run_job('j', osp.exists, dict(path=str(new / 'docs' / 'u.json')),
              str(new / rel / 'x.log'), reuse=True)
    assert (new / rel / 'x.log').exists()  # another file: runs
    # outside the checkout a path is compared as it is
    outside = dict(path=str(tmp_path / 'data' / 't.json'))
    W.run_job('k', osp.exists, outside, str(new / rel / 'y.log'))
    (new / rel / 'y.log').unlink()
    W.run_job('k', osp.exists, outside, str(new / rel / 'y.log'), reuse=True)
    assert not (new / rel / 'y.log').exists()
    W.run_job('k', osp.exists, dict(path=str(tmp_path / 'd2' / 't.json')),
              str(new / rel / 'y.log'), reuse=True)
    assert (new / rel / 'y.log').exists()
    # a record of an older run (no checkout entry): its checkout is where
    # a recorded path to the job's folder puts it
    record = dict(call='x', kwargs=dict(work_dir=str(old / rel), n=1))
    assert W.recorded_checkout(record, str(new / rel)) == str(old)
    assert W.same_call(record, dict(call='x', kwargs=dict(
        work_dir=str(new / rel), n=1)), str(new / rel))
    assert not W.same_call(record, dict(call='x', kwargs=dict(
        work_dir=str(new / rel), n=2)), str(new / rel))
    assert W.recorded_checkout(dict(call='x', kwargs=dict(n=1)),
                               str(new / rel)) is None
    nested = W.portable_record(
        dict(a=[str(new), str(new / 'x'), 'x', 3, str(tmp_path) + '/newer'],
             b=dict(c=str(new) + 'er/y')), root=str(new))
    assert nested == dict(a=['<checkout>/.', '<checkout>/x', 'x', 3,
                             str(tmp_path) + '/newer'],
                          b=dict(c=str(new) + 'er/y'))


def test_cfg_options_parse_like_the_command_line():
    assert parse_cfg_options([]) is None
    assert parse_cfg_options(['a.b=1', 'c=x.yaml', 'd=[1,2]', 'e=0.5']) == {
        'a.b': 1, 'c': 'x.yaml', 'd': [1, 2], 'e': 0.5}
    with pytest.raises(ValueError, match='key=value'):
        parse_cfg_options(['nokey'])


def test_format_summary():
    results = [
        R.NetResult('searched_s0', 'searched', 'a.yaml', 5.0, 90.0,
                    path=[0, 1, 7]),
        R.NetResult('random_0', 'random', 'b.yaml', 5.1, 88.0,
                    path=[0, 2, 7], measured_latency=4.2)
    ]
    text = Q.format_summary(results, Q.rank_summary([90.0], [88.0]))
    assert '| searched_s0 | [0, 1, 7] | 5.00 | - | 90.00 |' in text
    assert '| random_0 | [0, 2, 7] | 5.10 | 4.20 | 88.00 |' in text
    assert 'ranks [1] of 2' in text
    seeds = R.NetResult('random_1', 'random', 'c.yaml', 5.0, 87.5,
                        path=[0, 7], top1_seeds=[87.0, 88.0])
    assert '| random_1 | [0, 7] | 5.00 | - | 87.50 (87.00 / 88.00) |' in \
        Q.format_summary([seeds], Q.rank_summary([], [87.5]))


@pytest.mark.slow
def test_benchmark_tool_end_to_end(lut, tmp_path, demo_data_root,
                                   monkeypatch):
    """One tiny search, two random nets, one budget search (digits)."""
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    tool = load_tool('benchmark/search_quality.py')
    wd = tmp_path / 'sq'
    args = [
        '--search-config', DIGITS_SEARCH, '--subnet-config', DIGITS_SUBNET,
        '--lut', lut, '--seeds', '0', '--random', '2', '--tolerance', '1.0',
        '--search-epochs', '2', '--warmup-epochs', '1', '--retrain-epochs',
        '1', '--targets', '5', '--jobs', '2', '--work-dir', str(wd),
        '--arch', 'last', '--retrain-seed', '0', '1'
    ]
    summary = tool.main(args)
    assert len(summary['searched']) == 1 and len(summary['random']) == 2
    assert all(0 <= t <= 100 for t in summary['searched'] +
               summary['random'])
    assert summary['ranks'][0] in (1, 2, 3)
    [budget] = summary['budgets']
    assert budget['target'] == 5.0 and budget['achieved'] > 0
    saved = json.load(open(wd / 'results.json'))
    assert [n['kind'] for n in saved['nets']] == [
        'searched', 'random', 'random', 'budget'
    ]
    for net in saved['nets'][:3]:  # two retrain seeds each, scored by mean
        assert len(net['top1_seeds']) == 2
        assert net['top1'] == pytest.approx(sum(net['top1_seeds']) / 2)
    assert (wd / 'retrain' / 'random_0_seed1' / 'metrics.json').is_file()
    assert (wd / 'results.png').stat().st_size > 5000
    assert 'budget 5: derived ' in (wd / 'results.md').read_text()
    # --reuse: nothing runs again, the same numbers come back
    logs = sorted(wd.rglob('*.log'))
    stamps = [p.stat().st_mtime_ns for p in logs]
    again = tool.main(args + ['--reuse'])
    assert [p.stat().st_mtime_ns for p in logs] == stamps
    assert again['searched'] == summary['searched']
    assert again['random'] == summary['random']
