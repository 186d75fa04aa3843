"""One search, many budgets: does it pay? (issue 23 item 4;
densenas_mm.experiments.budget_front_check and tools/benchmark/
budget_front.py).

The arms are built through the real derivation, pool, windows, net book
and report on the digits demo space with the synthetic table; the searches
and retrains are fast fakes (a search writes a checkpoint of seeded random
alpha / beta, its ``arch/last.yaml`` and, for a budget search, the most
probable net within the budget as ``arch/budget.yaml``; a retrain writes a
top-1 that is a fixed function of the net and the seed), each leaving what
the real runs leave (``done.json``, a log, its CPU seconds), so resume and
``--finished-only`` are exercised as they are in a real run."""
import json
import os
import os.path as osp
import re
import zlib

import numpy as np
import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.experiments import budget_front_check as BF
from densenas_mm.experiments import protocol_nets as PN
from densenas_mm.utils.io import dump_json_atomic
from helpers.experiment_tools import (DIGITS_SEARCH, DIGITS_SUBNET,
                                      assert_resume_runs_nothing, demo_tool)


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


def fake_top1(net_config: str, seed: int) -> float:
    """The fake retrain's top-1 of a net and a seed."""
    return 80.0 + (_crc(net_config) % 500) / 100 + 0.3 * seed


class FakeRuns:
    """Fake ``search`` and ``retrain`` that leave what real runs leave."""

    def __init__(self, lut: str) -> None:
        from densenas_mm.apis.budgets import budget_estimator
        from densenas_mm.apis.model_io import load_config
        from densenas_mm.apis.random_arch import build_search_mutator
        self.mutator = build_search_mutator(DIGITS_SEARCH)
        self.est = budget_estimator(load_config(DIGITS_SEARCH), None, lut)
        self.searches, self.retrains = [], []

    @staticmethod
    def _finish(folder: str, name: str, log: str) -> None:
        done_file = osp.join(folder, 'done.json')
        done = (json.load(open(done_file)) if osp.isfile(done_file) else {})
        done[name] = {}
        dump_json_atomic(done, done_file)
        dump_json_atomic(dict(cpu_s=36.0), osp.join(folder,
                                                    f'cpu_{name}.json'))
        open(osp.join(folder, log), 'w').write(f'{name}\n')

    def search(self, config, folder, seed, lut, options=(), arch='best',
               reuse=False):
        from densenas_mm.models.estimators.budget_derivation import (
            best_under, pareto_front, point_arch)
        path = osp.join(folder, 'arch', f'{arch}.yaml')
        if reuse and BF.search_done(folder, arch):
            return path
        self.searches.append((osp.basename(folder), list(options)))
        os.makedirs(osp.join(folder, 'arch'), exist_ok=True)
        gen = torch.Generator().manual_seed(_crc(osp.basename(folder)))
        m = self.mutator
        for p in m.arch_params.values():
            p.data.copy_(torch.randn(p.shape, generator=gen) * 2)
        torch.save(dict(state_dict={
            f'algo.mutator._arch_params.{alias}': p.detach().clone()
            for alias, p in m.arch_params.items()}),
            osp.join(folder, 'epoch_2.pth'))
        open(osp.join(folder, 'last_checkpoint'), 'w').write('epoch_2.pth')
        m.derived_arch().dump(osp.join(folder, 'arch', 'last.yaml'))
        target = [o for o in options if o.startswith('model.cost_loss.')]
        if target:
            budget = float(target[0].split('=')[1])
            params = m.host_arch_params()
            point = best_under(pareto_front(self.est.space_costs(m.space),
                                            m.space, params, m.graph),
                               budget)
            point_arch(m.space, m.graph, params, point).dump(path)
        self._finish(folder, 'train', 'search.log')
        return path

    def retrain(self, config, arch, work_dir, seed=0, options=(),
                reuse=False):
        from densenas_mm.experiments.runs import finished
        from densenas_mm.structures import DerivedArch
        out = osp.join(work_dir, 'metrics.json')
        if reuse and finished(work_dir):
            return json.load(open(out))
        self.retrains.append((osp.basename(work_dir), seed))
        os.makedirs(work_dir, exist_ok=True)
        net = DerivedArch.load(arch).to_net_config()
        dump_json_atomic({'accuracy/top1': fake_top1(net, seed)}, out)
        self._finish(work_dir, 'test', 'test.log')
        return json.load(open(out))


@pytest.fixture
def fakes(lut, monkeypatch):
    runs = FakeRuns(lut)
    monkeypatch.setattr(BF, 'search', runs.search)
    monkeypatch.setattr(PN, 'retrain', runs.retrain)
    return runs


@pytest.fixture(scope='module')
def pool(lut, tmp_path_factory):
    from densenas_mm.experiments.pool import load_or_draw_pool
    path = str(tmp_path_factory.mktemp('pool') / 'pool.json.gz')
    load_or_draw_pool(path, DIGITS_SEARCH, lut, seed=0, draws=400)
    return path


def tool_args(lut, pool, work_dir, budgets, *extra):
    return [DIGITS_SEARCH, '--subnet-config', DIGITS_SUBNET, '--lut', lut,
            '--pool', pool, '--budgets', *map(str, budgets), '--seeds', '2',
            '--random', '2', '--tolerance', '0.05', '--max-tolerance', '1',
            '--bootstrap-reps', '200', '--jobs', '1', '--work-dir',
            str(work_dir), *extra]


def budgets_of(pool_path):
    """Two budgets a hair apart (one front net, one window) and a third."""
    from densenas_mm.experiments.pool import read_pool
    lats = [e['latency'] for e in read_pool(pool_path)['archs']]
    low, high = (round(float(np.quantile(lats, q)), 3) for q in (0.4, 0.8))
    return [low, round(low + 0.001, 3), high]


def test_the_arms_of_every_budget_end_to_end_and_resume(
        lut, pool, fakes, tmp_path, monkeypatch, demo_data_root):
    tool = demo_tool('budget_front', monkeypatch, demo_data_root)
    wd = tmp_path / 'bf'
    budgets = budgets_of(pool)
    args = tool_args(lut, pool, wd, budgets)
    result = tool.main(args)
    # one search and one budget search per budget, with its target
    assert sorted(f for f, _ in fakes.searches) == sorted(
        ['search_s0'] + [f'budget_{b:g}_s0' for b in budgets])
    for folder, opts in fakes.searches[1:]:
        target = float(folder.split('_')[1])
        assert f'model.cost_loss.target={target}' in opts
        assert 'budget_window=0.05' in opts
    nets = {n['name']: n for n in result['nets']}
    recs = result['budgets']
    assert [r['budget'] for r in recs] == budgets
    # the two close budgets share their front net and its random nets
    assert recs[0]['front'] == recs[1]['front'] == f'front_{budgets[0]:g}_s0'
    assert recs[0]['random'] == recs[1]['random']
    shared = nets[recs[0]['front']]
    assert set(shared['roles']) == {f'front_{b:g}_s0' for b in budgets[:2]}
    for rec in recs:
        front = nets[rec['front']]
        # every front net within its budget (the derivation's own cost)
        assert front['latency'] <= rec['budget']
        assert front['latency'] == pytest.approx(rec['derived_cost'],
                                                 rel=1e-9)
        # random nets within the reported window of the front net
        win = rec['window']
        assert len(rec['random']) == 2 and win['target'] == front['latency']
        for name in rec['random']:
            assert abs(nets[name]['latency'] / front['latency'] - 1) <= \
                win['tolerance'] * (1 + 1e-9)
        bnet = nets[rec['budget_search']]
        assert bnet['latency'] <= rec['budget']
        # each arm's mean is the mean of its nets' means
        assert rec['means']['front']['mean'] == pytest.approx(
            np.mean(front['top1_seeds']))
        rand_means = [np.mean(nets[n]['top1_seeds']) for n in rec['random']]
        assert rec['means']['random']['mean'] == pytest.approx(
            np.mean(rand_means))
        assert rec['front_minus_random']['diff'] == pytest.approx(
            np.mean(front['top1_seeds']) - np.mean(rand_means))
    # pooled over the budgets: the shared front net (and its random nets)
    # counts once, every distinct (front, budget-search) pair once
    pooled = result['pooled']
    assert pooled['budgets'] == [budgets[0], budgets[2]]
    fronts = [nets[recs[k]['front']] for k in (0, 2)]
    rands = [nets[n] for k in (0, 2) for n in recs[k]['random']]
    assert pooled['front_minus_random']['diff'] == pytest.approx(
        np.mean([np.mean(f['top1_seeds']) for f in fronts])
        - np.mean([np.mean(r['top1_seeds']) for r in rands]))
    assert pooled['front_minus_random']['n_nets'] == 2
    assert pooled['front_minus_random']['n_random'] == len(rands)
    lo, hi = pooled['front_minus_random']['ci']
    assert lo <= pooled['front_minus_random']['diff'] <= hi
    pairs = {(r['front'], r['budget_search']) for r in recs}
    assert pooled['front_minus_budget_search']['n_nets'] == len(pairs)
    assert pooled['front_minus_budget_search']['diff'] == pytest.approx(
        np.mean([np.mean(nets[f]['top1_seeds']) for f, _ in sorted(pairs)])
        - np.mean([np.mean(nets[b]['top1_seeds'])
                   for _, b in sorted(pairs)]))
    # every net retrained once per seed, whatever its roles
    retrained = [r for r, _ in fakes.retrains]
    assert len(retrained) == len(set(retrained)) == 2 * len(nets)
    assert result['runs'] == result['planned_runs'] == result['new_runs'] \
        == 2 * len(nets)
    for net in nets.values():
        assert net['seeds'] == [0, 1]
        assert net['top1_seeds'] == [fake_top1(net['net_config'], s)
                                     for s in (0, 1)]
    # compute: 36 CPU-seconds per fake run
    cpu = result['cpu_hours']
    assert cpu['search'] == pytest.approx(0.01)
    assert cpu['budget_searches_total'] == pytest.approx(0.01 * 3)
    assert cpu['retrains'] == pytest.approx(0.01 * 2 * len(nets))
    assert cpu['one_search_total'] == pytest.approx(
        cpu['search'] + cpu['derivation'])
    text = (wd / 'budget_front.md').read_text()
    assert f'| {budgets[2]:g} | front (one search) | ' in text
    assert 'front minus random' in text and 'CPU-hours' in text
    assert (f"| pooled ({budgets[0]:g}, {budgets[2]:g}) | "
            f"{pooled['front_minus_random']['diff']:+.2f} [") in text
    # the fake runs' CPU records name no CPU: counted as not recorded
    assert result['machines'] == {'not recorded': 2 * len(nets)}
    assert f'retrains ran on: not recorded ({2 * len(nets)})' in text
    # the search folder is shown relative to the checkout when inside it
    from densenas_mm.experiments.budget_front_report import format_report
    from densenas_mm.experiments.paths import REPO_ROOT
    inside = dict(result, front_dir=osp.join(REPO_ROOT, 'work_dirs', 'bf',
                                             'search_s0'))
    shown = format_report(inside)
    assert '(seed 0, `work_dirs/bf/search_s0`)' in shown
    assert REPO_ROOT not in shown.splitlines()[0]  # the settings line
    assert json.load(open(wd / 'budget_front.json'))['nets'] == \
        result['nets']
    assert (wd / 'budget_front.png').stat().st_size > 1000
    assert (wd / 'front' / 'front.json').is_file()
    # resume: nothing runs again, nothing is rewritten, the same numbers
    fakes.searches.clear()
    fakes.retrains.clear()
    again = assert_resume_runs_nothing(tool, args, wd, result)
    assert fakes.searches == [] and fakes.retrains == []
    assert again['budgets'] == result['budgets']
    # finished runs only (split over sittings)
    name = recs[2]['random'][0]
    (wd / 'runs' / f'{name}_seed1' / 'done.json').unlink()
    partial = tool.main(args + ['--finished-only'])
    assert partial['runs'] == result['runs'] - 1
    assert partial['new_runs'] == 0 and fakes.retrains == []
    assert {n['name']: n for n in partial['nets']}[name]['seeds'] == [0]


def test_a_finished_search_is_reused_with_search_dir(lut, pool, fakes,
                                                     tmp_path):
    budgets = budgets_of(pool)
    first = BF.budget_front(DIGITS_SEARCH, DIGITS_SUBNET, lut, pool,
                            budgets[2:], seeds=1, n_random=1,
                            tolerance=0.05, max_tolerance=1,
                            bootstrap_reps=50, jobs=1,
                            work_dir=str(tmp_path / 'a'))
    fakes.searches.clear()
    other = BF.budget_front(DIGITS_SEARCH, DIGITS_SUBNET, lut, pool,
                            budgets[2:], seeds=1, n_random=1,
                            tolerance=0.05, max_tolerance=1,
                            bootstrap_reps=50, jobs=1,
                            search_dir=str(tmp_path / 'a' / 'search_s0'),
                            work_dir=str(tmp_path / 'b'))
    # only the budget search ran; the same front net
    assert [f for f, _ in fakes.searches] == [f'budget_{budgets[2]:g}_s0']
    assert other['front_search_reused']
    assert other['cpu_hours']['search'] == first['cpu_hours']['search']
    pick = {n['name']: n['net_config'] for n in first['nets']}
    again = {n['name']: n['net_config'] for n in other['nets']}
    name = first['budgets'][0]['front']
    assert again[name] == pick[name]


def test_a_search_dir_without_its_checkpoint_is_refused_at_once(
        lut, pool, fakes, tmp_path):
    """A finished search whose checkpoint was not kept (records copied
    without it) is refused before anything runs, naming the file."""
    from densenas_mm.utils.options import ConfigError
    budgets = budgets_of(pool)
    BF.budget_front(DIGITS_SEARCH, DIGITS_SUBNET, lut, pool, budgets[2:],
                    seeds=1, n_random=1, tolerance=0.05, max_tolerance=1,
                    bootstrap_reps=50, jobs=1, work_dir=str(tmp_path / 'a'))
    (tmp_path / 'a' / 'search_s0' / 'epoch_2.pth').unlink()
    fakes.searches.clear()
    with pytest.raises(ConfigError, match=r"last_checkpoint names .*"
                       r"epoch_2\.pth, which does not exist"):
        BF.budget_front(DIGITS_SEARCH, DIGITS_SUBNET, lut, pool, budgets[2:],
                        seeds=1, n_random=1, tolerance=0.05,
                        max_tolerance=1, bootstrap_reps=50, jobs=1,
                        search_dir=str(tmp_path / 'a' / 'search_s0'),
                        work_dir=str(tmp_path / 'b'))
    assert fakes.searches == [] and not (tmp_path / 'b').exists()


def test_statistics_match_a_hand_computation():
    from densenas_mm.experiments.latency_windows import LatencyWindow

    def net(name, scores):
        n = PN.ProtocolNet(name, f'{name}.yaml', name, 5.0, [0])
        n.seeds, n.top1_seeds = list(scores), list(scores.values())
        return n

    front = net('front', {0: 85.0, 1: 86.0, 2: 84.0})
    rand = [net('r0', {0: 83.0, 1: 83.0, 2: 83.0}),
            net('r1', {0: 86.0, 1: 85.0, 2: 87.0}),
            net('r2', {0: 80.0, 1: 81.0})]
    bnet = net('budget', {0: 84.0, 1: 84.0, 2: 84.0})
    win = LatencyWindow(5.0, 0.01, 3, 3, [0, 1, 2])
    rec = BF.budget_record(dict(budget=5.2, front=front, budget_net=bnet,
                                random=rand, window=win), reps=400)
    means = rec['means']
    assert means['front']['mean'] == pytest.approx(85.0)
    # one net: its seeds resampled, so the CI lies within them
    assert 84.0 <= means['front']['ci'][0] <= 85.0 <= \
        means['front']['ci'][1] <= 86.0
    assert means['budget_search'] == dict(mean=pytest.approx(84.0),
                                          ci=[84.0, 84.0], n_nets=1,
                                          n_runs=3)
    assert means['random']['mean'] == pytest.approx((83 + 86 + 80.5) / 3)
    assert (means['random']['n_nets'], means['random']['n_runs']) == (3, 8)
    vr = rec['front_minus_random']
    assert vr['diff'] == pytest.approx(85.0 - (83 + 86 + 80.5) / 3)
    assert vr['ci'][0] < vr['diff'] < vr['ci'][1]
    # above r0 and r2, below r1
    assert vr['percentile'] == pytest.approx(200 / 3)
    # pairs: r0 3 wins; r1 seed 0 loss, 1 win, 2 loss; r2 2 wins
    assert (vr['pairs'], vr['pair_share']) == (8, pytest.approx(6 / 8))
    vb = rec['front_minus_budget_search']
    assert vb['diff'] == pytest.approx(1.0) and vb['n_nets'] == 1
    assert vb['ci'][0] <= 1.0 <= vb['ci'][1]
    assert rec['window']['tolerance'] == 0.01 and not rec['same_net']
    # a missing arm: no means, no differences
    empty = BF.budget_record(dict(budget=5.2), reps=50)
    assert empty['means'] == dict(front=None, random=None,
                                  budget_search=None)
    assert empty['front_minus_random'] is None
    assert empty['front_minus_budget_search'] is None


@pytest.mark.parametrize('change, match', [
    (dict(budgets=[]), 'distinct latencies > 0'),
    (dict(budgets=[5.0, 5.0]), 'distinct latencies > 0'),
    (dict(budgets=[5.0, 5.0000001]), 'distinct latencies > 0'),
    (dict(budgets=[0.01]), r'lie below the cheapest net of the space '
     r'\(\d+\.\d+ ms'),
    (dict(pool='missing.json.gz'), 'no pool .*missing.json.gz: draw one'),
    (dict(lut='missing.json'), 'no latency table .*missing.json'),
    (dict(n_random=0), '--random >= 1'),
    (dict(seeds=11), r'--seeds <= 10'),
    (dict(window=1.0), r'--window takes W in \[0, 1\)'),
    (dict(tolerance=0.2), '--tolerance <= --max-tolerance'),
    (dict(search_dir='nowhere'), '--search-dir .*nowhere holds no finished'),
])
def test_bad_input_is_refused_before_anything_runs(lut, pool, tmp_path,
                                                   fakes, change, match):
    from densenas_mm.utils.options import ConfigError
    kwargs = dict(config=DIGITS_SEARCH, subnet_config=DIGITS_SUBNET, lut=lut,
                  pool=pool, budgets=[100.0], work_dir=str(tmp_path / 'wd'))
    kwargs.update({k: (str(tmp_path / v) if k in ('pool', 'lut',
                                                  'search_dir') else v)
                   for k, v in change.items()})
    with pytest.raises(ConfigError, match=match):
        BF.budget_front(**kwargs)
    assert not (tmp_path / 'wd').exists() and fakes.searches == []


def test_the_tool_says_what_is_wrong_in_one_line(lut, pool, tmp_path,
                                                 fakes, monkeypatch,
                                                 demo_data_root, capsys):
    from densenas_mm.apis.cli import run_cli
    tool = demo_tool('budget_front', monkeypatch, demo_data_root)
    args = tool_args(lut, pool, tmp_path / 'wd', [0.01, 100])
    assert run_cli(lambda: tool.main(args)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: budgets [0.01] lie '
                                               'below the cheapest net')
    assert not (tmp_path / 'wd').exists() and fakes.searches == []


def test_a_pool_of_another_table_is_refused(lut, pool, tmp_path, fakes):
    from densenas_mm.latency import LatencyTable
    from densenas_mm.utils.options import ConfigError
    table = LatencyTable.load(lut)
    table.metadata['note'] = 'another table'
    other = str(tmp_path / 'other.json')
    table.save(other)
    with pytest.raises(ConfigError, match=re.escape(
            f'the pool {pool} was drawn with other settings lut_sha256')):
        BF.budget_front(DIGITS_SEARCH, DIGITS_SUBNET, other, pool, [100.0],
                        work_dir=str(tmp_path / 'wd'))
    assert fakes.searches == []


def test_the_cheapest_net_bounds_every_pool_net(lut, pool):
    from densenas_mm.experiments.pool import read_pool
    low = BF.cheapest_cost(DIGITS_SEARCH, lut)
    lats = [e['latency'] for e in read_pool(pool)['archs']]
    assert 0 < low <= min(lats)


@pytest.mark.slow
def test_budget_front_tool_with_real_runs(lut, pool, tmp_path, monkeypatch,
                                          demo_data_root):
    """One budget at the pool's median: the one search and the budget
    search (2 epochs each, 1 warm-up), one random net, 1-epoch retrains
    with one seed, through the real worker processes; both nets within the
    budget; a second call runs nothing."""
    from densenas_mm.experiments.pool import read_pool
    tool = demo_tool('budget_front', monkeypatch, demo_data_root)
    lats = [e['latency'] for e in read_pool(pool)['archs']]
    budget = round(float(np.median(lats)), 3)
    wd = tmp_path / 'real'
    args = tool_args(lut, pool, wd, [budget], '--search-epochs', '2',
                     '--warmup-epochs', '1', '--retrain-epochs', '1')
    args[args.index('--seeds') + 1] = '1'
    args[args.index('--random') + 1] = '1'
    args[args.index('--max-tolerance') + 1] = '10'
    result = tool.main(args)
    rec, = result['budgets']
    nets = {n['name']: n for n in result['nets']}
    front, bnet = nets[rec['front']], nets[rec['budget_search']]
    assert front['latency'] <= budget and bnet['latency'] <= budget
    assert len(rec['random']) == 1
    assert result['runs'] == result['planned_runs'] == len(nets) <= 3
    assert all(n['seeds'] == [0] and 0 <= n['top1_seeds'][0] <= 100
               for n in nets.values())
    budget_json = json.load(open(wd / f'budget_{budget:g}_s0' /
                                 'budget.json'))
    assert budget_json['target'] == budget and budget_json['window'] == 0.05
    cpu = result['cpu_hours']
    assert min(cpu['search'], cpu['budget_searches_total'],
               cpu['retrains']) > 0
    assert_resume_runs_nothing(tool, args, wd, result)
