"""Searched vs random (issue 21 item 4): latency windows, pair wins and
percentiles on synthetic numbers, the hand-designed uniform nets, BN
recalibration, the RS-WS supernet options, and the tool end to end with its
resume (densenas_mm.experiments.search_vs_random and its modules)."""
import json

import numpy as np
import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.experiments import arm_stats as AS
from densenas_mm.experiments import hand_designed as HD
from densenas_mm.experiments import protocol_nets as PN
from densenas_mm.experiments import search_vs_random as SVR
from densenas_mm.experiments.rsws import rsws_options
from densenas_mm.experiments.latency_windows import latency_window
from densenas_mm.structures import DerivedArch
from helpers.experiment_tools import (DIGITS_SEARCH, DIGITS_SUBNET,
                                      assert_resume_runs_nothing, demo_tool,
                                      retrain_tool_args)


# ------------------------------------------------------------- windows
def test_window_takes_the_first_in_draw_order():
    lats = [10.0, 5.0, 5.04, 4.97, 7.0, 5.0, 5.2]
    win = latency_window(lats, 5.0, 3, tolerance=0.01)
    assert win.indices == [1, 2, 3] and win.inside == 4
    assert win.tolerance == 0.01 and win.steps == 1 and not win.widened
    # 5.05 / 5 - 1 is 0.00999... or 0.0100...1 in floats: inside either way
    assert latency_window([5.05], 5.0, 1, 0.01).inside == 1


def test_window_widens_stepwise_and_reports_it():
    lats = [5.0, 5.08, 5.12, 4.85, 6.0]
    win = latency_window(lats, 5.0, 3, tolerance=0.01, max_tolerance=0.05)
    # 1 % holds 1, 2 % 2 (5.08 is 1.6 %), 3 % 4 (5.12 2.4 %, 4.85 3 %)
    assert (win.steps, win.tolerance) == (3, pytest.approx(0.03))
    assert win.indices == [0, 1, 2] and win.inside == 4 and win.widened
    # never wider than the maximum: fewer than asked, the caller decides
    win = latency_window(lats, 5.0, 5, tolerance=0.02, max_tolerance=0.05)
    assert win.tolerance == 0.05 and win.inside == 4
    assert win.indices == [0, 1, 2, 3] and win.steps == 3


@pytest.mark.parametrize('kwargs, match', [
    (dict(target=0.0, count=1), 'target latency'),
    (dict(target=5.0, count=0), 'count'),
    (dict(target=5.0, count=1, tolerance=0.1, max_tolerance=0.05),
     'tolerance <= max_tolerance'),
])
def test_window_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        latency_window([5.0], **kwargs)


# ------------------------------------------------ percentile, pair wins
def test_reports_show_paths_inside_the_checkout_relative_to_it():
    import os.path as osp
    from densenas_mm.experiments.paths import REPO_ROOT, shown_path
    inside = osp.join(REPO_ROOT, 'docs', 'records', 'pool.json.gz')
    assert shown_path(inside) == osp.join('docs', 'records', 'pool.json.gz')
    # a sibling folder whose name extends the checkout's is outside it
    sibling = REPO_ROOT + '_copy' + osp.sep + 'pool.json.gz'
    assert shown_path(sibling) == sibling
    assert shown_path('/elsewhere/pool.json.gz') == '/elsewhere/pool.json.gz'
    assert shown_path('work_dirs/pool.json.gz') == 'work_dirs/pool.json.gz'


def test_inside_is_the_one_test_of_a_path_in_a_folder(tmp_path):
    import os.path as osp
    from densenas_mm.experiments.paths import inside
    root = str(tmp_path / 'co')
    assert inside(osp.join(root, 'a', 'b.json'), root) == osp.join('a', 'b.json')
    assert inside(root, root) == '.'
    assert inside(root + osp.sep, root) == '.'
    assert inside(str(tmp_path / 'co_copy' / 'b.json'), root) is None
    assert inside(str(tmp_path / 'b.json'), root) is None
    assert inside(osp.join('co', 'b.json'), root) is None  # relative: not placed
    # a file whose name starts with '..' is still inside
    assert inside(osp.join(root, '..x'), root) == '..x'


def test_percentile_counts_ties_half():
    assert AS.percentile_among(3.0, [1, 2, 3, 4]) == pytest.approx(62.5)
    assert AS.percentile_among(9.0, [1, 2]) == 100.0
    assert AS.percentile_among(0.0, [1, 2]) == 0.0
    with pytest.raises(ValueError, match='at least one'):
        AS.percentile_among(1.0, [])


def test_pair_wins_match_seeds():
    net = {0: 80.0, 1: 82.0, 2: 81.0}
    randoms = [{0: 79.0, 1: 83.0, 2: 81.0}, {0: 81.0, 1: 80.0}]
    won = AS.pair_wins(net, randoms)
    # pairs: (r0, 0) win, (r0, 1) loss, (r0, 2) tie, (r1, 0) loss,
    # (r1, 1) win; r1 has no seed 2
    assert won == dict(wins=2.5, pairs=5, share=0.5)
    assert np.isnan(AS.pair_wins(net, [{7: 1.0}])['share'])


def test_compare_arm_on_synthetic_numbers():
    # search seed 0: the net beats all 3 random nets; seed 1: none; seed 2:
    # no finished searched net
    arm = [{0: 85.0, 1: 85.0}, {0: 70.0, 1: 70.0}, None]
    randoms = [[{0: 80.0, 1: 80.0}, {0: 81.0, 1: 81.0}, {0: 82.0, 1: 82.0}],
               [{0: 75.0, 1: 75.0}, {0: 76.0, 1: 76.0}, {0: 77.0, 1: 77.0}],
               [{0: 1.0, 1: 1.0}]]
    out = AS.compare_arm(arm, randoms, reps=300)
    s0, s1, s2 = out['per_seed']
    assert s2 is None
    assert s0['diff'] == pytest.approx(4.0) and s0['percentile'] == 100.0
    assert s0['pair_share'] == 1.0 and s0['pairs'] == 6
    # no seed noise: every bootstrap mean lies between the extreme nets
    assert 3.0 <= s0['ci'][0] <= s0['ci'][1] <= 5.0
    assert s1['diff'] == pytest.approx(-6.0) and s1['percentile'] == 0.0
    assert s1['random_mean'] == pytest.approx(76.0)
    assert s1['random_sd'] == pytest.approx(1.0)
    pooled = out['pooled']
    assert (pooled['n_nets'], pooled['n_random']) == (2, 6)
    # mean(85, 70) - mean(80, 81, 82, 75, 76, 77)
    assert pooled['diff'] == pytest.approx(77.5 - 78.5)
    assert pooled['pair_share'] == pytest.approx(0.5)
    assert pooled['ci'][0] < pooled['diff'] < pooled['ci'][1]
    between = AS.compare_arms(arm, [{0: 84.0, 1: 84.0}, None, None],
                              reps=300)
    assert between['n_nets'] == 1 and between['diff'] == pytest.approx(1.0)
    assert AS.compare_arms([None], [None]) is None
    with pytest.raises(ValueError, match='one of each'):
        AS.compare_arm(arm, randoms[:2])


# ---------------------------------------------------------- hand-designed
def test_uniform_op_rule():
    assert HD.uniform_op(['mbconv_k3_t3', 'mbconv_k3_t6']) == 'mbconv_k3_t6'
    assert HD.uniform_op(['mbconv_k5_t6', 'mbconv_k3_t3', 'mbconv_k3_t4',
                          'skip_connect']) == 'mbconv_k3_t4'
    assert HD.uniform_op(['skip_connect', 'basic_block']) == 'basic_block'
    with pytest.raises(ValueError, match='only skips'):
        HD.uniform_op(['skip_connect'])


@pytest.fixture(scope='module')
def demo_mutator():
    from densenas_mm.apis.random_arch import build_search_mutator
    return build_search_mutator(DIGITS_SEARCH)


def test_uniform_nets_of_the_demo_space(demo_mutator, lut):
    space, graph = demo_mutator.space, demo_mutator.graph
    latency_of = PN.latency_estimator(demo_mutator, lut, 'latency', False)
    nets = HD.uniform_nets(space, graph, latency_of)
    # 9 paths x depths 0 and 1 (at most one stacking layer per block)
    assert graph.num_paths() == 9 and len(nets) == 18
    assert len({u.arch.to_net_config() for u in nets}) == 18
    for u in nets:
        assert u.head_op == 'mbconv_k3_t6' and u.stack_op == 'mbconv_k3_t3'
        assert all(b.head_op == 'mbconv_k3_t6' for b in u.arch.blocks)
        blocks = u.arch.blocks
        assert [len(b.stack_ops) for b in blocks] == [
            min(u.depth, graph.num_layers[b.node]) for b in blocks]
        assert u.latency == pytest.approx(latency_of(u.arch))
        # a valid net of the space, as written and read back
        assert DerivedArch.from_dict(u.arch.to_dict()).to_net_config() == \
            u.arch.to_net_config()
    target = float(np.median([u.latency for u in nets])) + 0.01
    best = HD.closest_uniform(nets, target)
    assert abs(best.latency - target) == min(abs(u.latency - target)
                                             for u in nets)
    with pytest.raises(ValueError, match='max_configs=10'):
        HD.uniform_nets(space, graph, latency_of, max_configs=10)
    with pytest.raises(ValueError, match='not a non-skip op'):
        HD.uniform_nets(space, graph, latency_of, stack_op='skip_connect')


# ---------------------------------------------------- RS-WS, NetBook
def test_rsws_options_train_weights_only_over_all_epochs():
    from densenas_mm.apis.cli import parse_cfg_options
    from densenas_mm.apis.model_io import load_config
    from densenas_mm.experiments.runs import schedule_options
    sopts = schedule_options([], 3, 1)
    opts = rsws_options(DIGITS_SEARCH, sopts)
    assert opts[:len(sopts)] == sopts
    cfg = load_config(DIGITS_SEARCH, parse_cfg_options(opts))
    assert cfg.train_cfg.max_epochs == 3 and cfg.train_cfg.val_begin == 4
    assert cfg.custom_hooks[0].warmup_epochs == 3
    assert cfg.model.weight_paths == 'sampled'
    # the digits config's own schedule (12 + 8 epochs)
    cfg = load_config(DIGITS_SEARCH, parse_cfg_options(
        rsws_options(DIGITS_SEARCH, [], 'all')))
    assert cfg.custom_hooks[0].warmup_epochs == 20
    assert cfg.model.weight_paths == 'all'


def test_net_book_keeps_one_net_per_net_config(demo_mutator, tmp_path):
    from densenas_mm.apis.random_arch import random_arch
    gen = torch.Generator().manual_seed(0)
    a = random_arch(demo_mutator, gen)
    b = next(x for x in (random_arch(demo_mutator, gen) for _ in range(50))
             if x.to_net_config() != a.to_net_config())
    book = PN.NetBook(str(tmp_path))
    first = book.add(a, 'pool_3', 4.0, 'random_s0', pool_index=3)
    again = book.add(DerivedArch.from_dict(a.to_dict()), 'searched_s1', 4.0,
                     'searched_s1')
    assert again is first and first.name == 'pool_3'
    assert first.roles == ['random_s0', 'searched_s1']
    book.add(b, 'pool_4', 5.0, 'random_s0')
    assert len(book.nets) == 2
    assert DerivedArch.load(first.arch).meta['latency'] == 4.0
    # a work dir whose file holds another net is refused
    with pytest.raises(ValueError, match='use a new --work-dir'):
        PN.NetBook(str(tmp_path)).add(b, 'pool_3', 5.0, 'random_s0')


def test_rsws_reads_scores_made_in_another_checkout(demo_mutator,
                                                    tmp_path):
    """A work dir copied to a clone keeps its RS-WS arm: the scores name
    the nets by the other checkout's paths; the picks are by file name."""
    from densenas_mm.apis.random_arch import random_arch
    from densenas_mm.experiments.rsws import rsws_arm
    gen = torch.Generator().manual_seed(2)
    archs = [random_arch(demo_mutator, gen) for _ in range(4)]
    pool = dict(archs=[dict(arch=a.to_dict(), latency=lat) for a, lat in
                       zip(archs, [5.0, 5.01, 4.99, 9.0])])
    book = PN.NetBook(str(tmp_path / 'clone' / 'nets'))
    searched = PN.ProtocolNet('searched_s0', 'x.yaml', 'nc', 5.0, [])
    folder = tmp_path / 'clone' / 'rsws'
    folder.mkdir(parents=True)
    other = '/elsewhere/checkout/work_dirs/x/nets'
    (folder / 'scores.json').write_text(json.dumps(dict(
        archs=[f'{other}/pool_{i}.yaml' for i in (0, 1, 2)],
        scores=[50.0, 61.5, 55.0])))
    slots = [dict(search_seed=0, searched=searched)]
    assert rsws_arm('cfg.py', 'lut.json', book, pool, slots, 'last.yaml',
                    str(folder), 3, 0.01, 0.05, 2, 0, False, True)
    assert slots[0]['rsws_window'].indices == [0, 1, 2]
    assert slots[0]['rsws'].name == 'pool_1'
    assert slots[0]['rsws'].supernet_top1 == 61.5
    # scores of other nets than the window's: not finished
    (folder / 'scores.json').write_text(json.dumps(dict(
        archs=[f'{other}/pool_0.yaml'], scores=[50.0])))
    slots = [dict(search_seed=0, searched=searched)]
    assert not rsws_arm('cfg.py', 'lut.json', book, pool, slots, 'last.yaml',
                        str(folder), 3, 0.01, 0.05, 2, 0, False, True)
    assert 'rsws' not in slots[0]


def test_measure_fills_every_net_with_the_tables_threads(lut, tmp_path,
                                                         monkeypatch,
                                                         demo_mutator):
    import types

    from densenas_mm.apis import latency_agreement
    from densenas_mm.apis.random_arch import random_arch
    from densenas_mm.latency import LatencyTable
    table = LatencyTable.load(lut)
    table.metadata['num_threads'] = 1
    table.save(str(tmp_path / 'lut.json'))
    gen = torch.Generator().manual_seed(1)
    book = PN.NetBook(str(tmp_path / 'nets'))
    for k in range(3):
        book.add(random_arch(demo_mutator, gen), f'pool_{k}', 4.0 + k,
                 'random_s0')
    nets = list(book.nets.values())
    assert len(nets) >= 2
    seen = {}

    def fake(table, archs, device='cpu', **timing):
        seen.update(threads=torch.get_num_threads(),
                    configs=[a.to_net_config() for a in archs])
        return [types.SimpleNamespace(value=10.0 + i)
                for i in range(len(archs))]

    monkeypatch.setattr(latency_agreement, 'measure_nets', fake)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        PN.measure_protocol_nets(nets, str(tmp_path / 'lut.json'))
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(before)
    assert seen['threads'] == 1
    assert seen['configs'] == [n.net_config for n in nets]
    assert [n.measured for n in nets] == [10.0 + i for i in range(len(nets))]


def test_too_few_random_nets_in_the_widest_window(lut, tmp_path,
                                                  monkeypatch):
    # a finished search (faked) whose net lies far outside the pool
    from densenas_mm.apis.random_arch import build_search_mutator
    mutator = build_search_mutator(DIGITS_SEARCH)
    net = mutator.derived_arch()
    folder = tmp_path / 'search_s0'
    (folder / 'arch').mkdir(parents=True)
    net.dump(str(folder / 'arch' / 'last.yaml'))
    (folder / 'done.json').write_text('{"train": {}}')
    monkeypatch.setattr(SVR, 'latency_estimator',
                        lambda *a: (lambda arch: 1000.0))
    with pytest.raises(ValueError, match=r'only 0 pool nets lie within '
                       r'5.0% of the searched net of seed 0 \(1000.000'):
        SVR.search_vs_random(DIGITS_SEARCH, DIGITS_SUBNET, lut,
                             work_dir=str(tmp_path), search_seeds=[0],
                             pool_draws=50, rsws=False, finished_only=True)


@pytest.mark.parametrize('kwargs, match', [
    (dict(n_random=0), 'one random net'),
    (dict(seeds=3, seed_list=[0, 1]), 'exceeds the seed list'),
    (dict(arch='first'), "'last' or 'best'"),
    (dict(tolerance=0.1), r'--tolerance <= --max-tolerance'),
    (dict(rsws_candidates=0), '--rsws-candidates'),
])
def test_bad_settings_are_refused_before_anything_runs(lut, tmp_path, kwargs,
                                                       match):
    from densenas_mm.utils.options import ConfigError
    with pytest.raises(ConfigError, match=match):
        SVR.search_vs_random(DIGITS_SEARCH, DIGITS_SUBNET, lut,
                             work_dir=str(tmp_path), **kwargs)
    assert not (tmp_path / 'pool.json.gz').exists()


def test_a_pool_of_other_settings_is_an_input_error(lut, tmp_path):
    from densenas_mm.experiments.pool import load_or_draw_pool
    from densenas_mm.utils.options import ConfigError
    pool = str(tmp_path / 'pool.json.gz')
    load_or_draw_pool(pool, DIGITS_SEARCH, lut, seed=0, draws=20)
    with pytest.raises(ConfigError, match=r'other settings draws: 20 '
                       r'\(asked 5000'):
        SVR.search_vs_random(DIGITS_SEARCH, DIGITS_SUBNET, lut, pool=pool,
                             work_dir=str(tmp_path), finished_only=True)


# -------------------------------------------------------- end to end
@pytest.mark.slow
def test_search_vs_random_tool_end_to_end_and_resume(lut, tmp_path,
                                                     demo_data_root,
                                                     monkeypatch):
    """2 search seeds x 2-epoch searches, 2 random nets each (one shared
    window: every pool net lies within it), RS-WS over 3 candidates, the
    hand-designed nets, 1-epoch retrains with 1 seed; a second call runs
    nothing and gives the same numbers."""
    tool = demo_tool('search_vs_random', monkeypatch, demo_data_root)
    wd = tmp_path / 'svr'
    args = retrain_tool_args(lut, wd, [
        '--search-seeds', '0', '1', '--seeds', '1', '--random', '2',
        '--tolerance', '10', '--max-tolerance', '10',
        '--search-epochs', '2', '--warmup-epochs', '1',
        '--retrain-epochs', '1', '--pool-draws', '100',
        '--rsws-candidates', '3', '--recal-batches', '2',
        '--bootstrap-reps', '200', '--jobs', '2'
    ])
    result = tool.main(args)
    slots = result['slots']
    assert [s['search_seed'] for s in slots] == [0, 1]
    # one window holds the whole pool: both seeds share the same 2 nets
    assert slots[0]['random'] == slots[1]['random'] == ['pool_0', 'pool_1']
    assert all(s['window']['tolerance'] == 10.0 for s in slots)
    assert [s['searched'] for s in slots] == ['searched_s0', 'searched_s1']
    assert all(s['rsws'].startswith('pool_') for s in slots)
    assert all(s['rsws_window']['indices'] == [0, 1, 2] for s in slots)
    assert all(s['hand'].startswith('uniform_') for s in slots)
    nets = {n['name']: n for n in result['nets']}
    # every net retrained once with the one seed, whatever its roles
    assert set(nets['pool_0']['roles']) >= {'random_s0', 'random_s1'}
    assert all(n['seeds'] == [0] and 0 <= n['top1_seeds'][0] <= 100
               for n in nets.values())
    assert result['runs'] == result['planned_runs'] == len(nets)
    assert result['new_runs'] == len(nets)
    scores = json.load(open(wd / 'rsws' / 'scores.json'))
    assert len(scores['scores']) == 3 and scores['recal_batches'] == 2
    for s in slots:
        picked = nets[s['rsws']]
        assert picked['supernet_top1'] == max(scores['scores'])
    # the RS-WS supernet trained weights only, without validation
    log = (wd / 'rsws' / 'supernet' / 'search.log').read_text()
    assert "'model.weight_paths': 'sampled'" in log or \
        '"model.weight_paths": "sampled"' in log
    assert 'Epoch(val)' not in log
    # statistics: searched minus random on the shared random nets
    comp = result['comparisons']['searched']
    rand_mean = np.mean([nets[n]['top1_seeds'][0]
                         for n in ('pool_0', 'pool_1')])
    for k, slot in enumerate(slots):
        own = nets[slot['searched']]['top1_seeds'][0]
        assert comp['per_seed'][k]['diff'] == pytest.approx(own - rand_mean)
        assert comp['per_seed'][k]['pairs'] == 2
    assert comp['pooled']['n_nets'] == 2 and comp['pooled']['n_random'] == 4
    assert set(result['between']) == {'searched-rsws', 'searched-hand'}
    cpu = result['cpu_hours']
    assert min(cpu['searches'], cpu['rsws'], cpu['retrains']) > 0
    assert cpu['total'] == pytest.approx(
        cpu['searches'] + cpu['rsws'] + cpu['retrains'])
    table = (wd / 'results.md').read_text()
    assert '| 0 | searched | searched_s0 |' in table
    assert 'searched minus random:' in table and 'CPU-hours' in table
    # every retrain ran here, and the report says on which CPU
    from densenas_mm.latency.measure import cpu_name
    assert result['machines'] == {cpu_name(): len(nets)}
    assert f'retrains ran on: {cpu_name()} ({len(nets)})' in table
    assert json.load(open(wd / 'results.json'))['nets'] == result['nets']
    assert (wd / 'results.png').stat().st_size > 0
    # resume: nothing runs again, nothing is rewritten, the same numbers
    assert_resume_runs_nothing(tool, args, wd, result)
    # the finished runs only (a protocol split over sittings)
    (wd / 'runs' / 'pool_1_seed0' / 'done.json').unlink()
    partial = tool.main(args + ['--finished-only'])
    assert partial['runs'] == len(nets) - 1 and partial['new_runs'] == 0
    part = {n['name']: n for n in partial['nets']}
    assert part['pool_1']['seeds'] == []
    assert partial['comparisons']['searched']['per_seed'][0]['pairs'] == 1
