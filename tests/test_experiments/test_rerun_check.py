"""Rerun agreement of the searched-vs-random protocol (issue 21's check):
two results.json of one setting, arm by arm."""
import json
from dataclasses import asdict
from typing import Dict, List, Optional

import numpy as np
import pytest

import densenas_mm  # noqa: F401
from densenas_mm.experiments import rerun_check as R
from densenas_mm.experiments import stats
from densenas_mm.experiments.protocol_nets import ProtocolNet
from densenas_mm.utils.options import ConfigError
from helpers.tools import load_tool

SETTINGS = dict(config='configs/a.py', subnet_config='configs/b.py',
                lut='docs/records/t.json', seeds=3, n_random=3,
                tolerance=0.01, max_tolerance=0.05, arch='last',
                search_epochs=None, warmup_epochs=None, search_options=[],
                retrain_epochs=None, subnet_options=[], search_seeds=[0, 1],
                seed_list=[0, 1, 2], pool='pool.json.gz', pool_seed=0,
                pool_draws=5000)


def _net(name: str, top1: List[float], seeds=(0, 1, 2)) -> Dict:
    return asdict(ProtocolNet(name=name, arch=f'{name}.yaml',
                              net_config=name, latency=5.0, path=[0, 1],
                              seeds=list(seeds)[:len(top1)],
                              top1_seeds=list(top1)))


def make_result(searched: List[Optional[List[float]]],
                randoms: List[List[List[float]]],
                hand: Optional[List[List[float]]] = None,
                extra: Optional[List[List[float]]] = None,
                **settings) -> Dict:
    """A results.json as search_vs_random writes it: one slot per search
    seed, each with its searched net, random nets and hand-designed net
    (the RS-WS arm left unfinished), optionally one extra arm ``uni`` that
    shares the slots' random nets."""
    nets, slots = [], []
    for k, (top1, rand) in enumerate(zip(searched, randoms)):
        names = [f'pool_{k}_{j}' for j in range(len(rand))]
        nets += [_net(n, r) for n, r in zip(names, rand)]
        nets.append(_net(f'searched_s{k}', top1 or []))
        slot = dict(search_seed=k, searched=f'searched_s{k}', rsws=None,
                    hand=None, random=names, window=None, rsws_window=None)
        if hand is not None:
            nets.append(_net(f'uniform_{k}', hand[k]))
            slot['hand'] = f'uniform_{k}'
        slots.append(slot)
    extra_arms = {}
    if extra is not None:
        for k, top1 in enumerate(extra):
            nets.append(_net(f'uni_s{k}', top1))
        extra_arms['uni'] = dict(spec=settings.pop('uni_spec', 'uni=a.py'),
                                 slots=[
            dict(search_seed=k, net=f'uni_s{k}', random=s['random'],
                 window=None) for k, s in enumerate(slots)])
    return dict(settings=dict(SETTINGS, **settings), slots=slots, nets=nets,
                retrain_seeds=[0, 1, 2], extra_arms=extra_arms)


RANDOMS = [[[80.0, 81.0, 82.0], [78.0, 79.0, 80.0], [82.0, 82.0, 83.0]],
           [[79.0, 80.0, 81.0], [81.0, 81.0, 81.0], [77.0, 78.0, 79.0]]]
SEARCHED = [[84.0, 85.0, 86.0], [82.0, 83.0, 84.0]]


def write(tmp_path, name: str, result: Dict) -> str:
    path = tmp_path / name / 'results.json'
    path.parent.mkdir()
    path.write_text(json.dumps(result))
    return str(path)


def test_arm_groups_take_what_the_pooled_comparison_takes():
    result = make_result([SEARCHED[0], []], RANDOMS,
                         hand=[[70.0, 71.0], [72.0]], extra=SEARCHED)
    arm, rand = R.arm_groups(result, 'searched')
    # search seed 1's searched net has no finished run: its random nets
    # leave with it
    assert arm == [[84.0, 85.0, 86.0]] and rand == RANDOMS[0]
    arm, rand = R.arm_groups(result, 'hand')
    assert arm == [[70.0, 71.0], [72.0]] and len(rand) == 6
    arm, rand = R.arm_groups(result, 'uni')
    assert arm == SEARCHED and len(rand) == 6
    assert R.arm_groups(result, 'rsws') == ([], [])
    assert R.arms_of(result) == ['searched', 'rsws', 'hand', 'uni']
    with pytest.raises(ConfigError, match="no arm 'nope'.*'uni'"):
        R.arm_groups(result, 'nope')


def test_the_same_run_twice_agrees_with_a_zero_change(tmp_path):
    a = write(tmp_path, 'a', make_result(SEARCHED, RANDOMS, extra=SEARCHED))
    out = R.rerun_agreement(a, a, bootstrap_reps=500)
    rows = out.result['arms']
    assert sorted(rows) == ['searched', 'uni']  # rsws, hand: no nets
    searched = np.mean([85.0, 83.0])
    random = np.mean([np.mean(r) for rs in RANDOMS for r in rs])
    assert rows['searched']['first'] == pytest.approx(searched - random)
    assert rows['searched']['change'] == pytest.approx(0.0)
    lo, hi = rows['searched']['ci']
    assert lo < 0 < hi and rows['searched']['agrees']
    assert rows['searched']['nets'] == [2, 2]
    assert rows['searched']['random_nets'] == [6, 6]
    assert out.status == 0 and out.result['agrees']
    assert out.result['seeds_changed'] == {}
    assert 'a repeat, not a rerun' in out.out


def test_a_rerun_whose_searched_nets_moved_disagrees(tmp_path):
    a = write(tmp_path, 'a', make_result(SEARCHED, RANDOMS))
    moved = [[v + 4.0 for v in s] for s in SEARCHED]
    write(tmp_path, 'b', make_result(moved, RANDOMS, search_seeds=[4, 5],
                                     seed_list=[3, 4, 5]))
    out = R.rerun_agreement(a, str(tmp_path / 'b'), arms=['searched'],
                            bootstrap_reps=500,
                            json=str(tmp_path / 'agree.json'))
    row = out.result['arms']['searched']
    assert row['change'] == pytest.approx(4.0)
    assert row['ci'][0] > 0 and not row['agrees']
    assert out.status == 1
    assert out.result['seeds_changed'] == {
        'search_seeds': [[0, 1], [4, 5]], 'seed_list': [[0, 1, 2], [3, 4, 5]]}
    saved = json.loads((tmp_path / 'agree.json').read_text())
    assert saved['arms']['searched']['change'] == pytest.approx(4.0)
    assert '| searched | 2 / 2 | 6 / 6 | ' in out.out
    # both runs as one sample: 4 searched nets against the 12 random nets
    searched = np.mean([85.0, 83.0, 89.0, 87.0])
    random = np.mean([np.mean(r) for rs in RANDOMS for r in rs])
    assert row['pooled']['diff'] == pytest.approx(searched - random)
    assert row['first'] < row['pooled']['diff'] < row['second']
    boot = stats.diff_bootstrap(SEARCHED + moved, RANDOMS[0] + RANDOMS[1]
                                + RANDOMS[0] + RANDOMS[1], 500, seed=0)
    assert row['pooled']['ci'] == pytest.approx(list(boot['ci']))
    lo, hi = row['pooled']['ci']
    assert f'| {searched - random:+.2f} [{lo:+.2f}, {hi:+.2f}] |' in out.out
    assert 'the rerun disagrees' in out.out


def test_runs_of_different_settings_or_arms_are_refused(tmp_path):
    a = write(tmp_path, 'a', make_result(SEARCHED, RANDOMS))
    b = write(tmp_path, 'b', make_result(SEARCHED, RANDOMS,
                                         lut='other.json', retrain_epochs=3))
    with pytest.raises(ConfigError, match="not runs of one setting: lut: "
                       "'docs/records/t.json' vs 'other.json'; "
                       'retrain_epochs: None vs 3'):
        R.rerun_agreement(a, b)
    # the RS-WS and hand-designed arms' settings count too; their seed not
    d = write(tmp_path, 'd', make_result(SEARCHED, RANDOMS, rsws_seed=4,
                                         rsws_candidates=50,
                                         hand_stack_op='mbconv_k5_t6'))
    with pytest.raises(ConfigError, match="rsws_candidates: None vs 50; "
                       r"hand_stack_op: None vs 'mbconv_k5_t6'\. Rerun"):
        R.rerun_agreement(a, d)
    with pytest.raises(ConfigError, match=r"arm\(s\) \['uni'\] not in both"):
        R.rerun_agreement(a, a, arms=['uni'])
    with pytest.raises(ConfigError, match="arm 'hand' has no finished net"):
        R.rerun_agreement(a, a, arms=['hand'])
    c = write(tmp_path, 'c', make_result([[], []], RANDOMS))
    with pytest.raises(ConfigError, match='no arm has finished nets'):
        R.rerun_agreement(a, c)


def test_bad_files_say_what_to_give(tmp_path):
    with pytest.raises(ValueError, match='does not exist.*results.json of '
                       'tools/benchmark/search_vs_random.py'):
        R.load_result(str(tmp_path / 'none.json'))
    bad = tmp_path / 'signal.json'
    bad.write_text(json.dumps(dict(settings={}, nets=[])))
    with pytest.raises(ValueError, match=r"not a searched-vs-random result: "
                       r"no \['slots'\]"):
        R.load_result(str(bad))


def test_change_ci_covers_zero_for_reruns_of_one_model():
    # two independent runs of one random-effects model (4 searched nets,
    # 40 random nets, 3 seeds, sigma_arch = sigma_seed = 0.5, a true
    # difference of 1 point in both): the change's CI holds 0 in most
    # (measured: 92 of 100)
    from densenas_mm.experiments import power
    rng = np.random.default_rng(0)
    hits = 0
    for i in range(100):
        runs = [(power.simulate_table(4, 3, 0.5, 0.5, rng, shift=1.0),
                 power.simulate_table(40, 3, 0.5, 0.5, rng))
                for _ in range(2)]
        lo, hi = stats.diff_change_bootstrap(*runs, reps=400,
                                             seed=i)['ci']
        hits += lo <= 0 <= hi
    assert 84 <= hits <= 99


def test_tool_exit_status_and_bad_input(tmp_path, capsys):
    tool = load_tool('analysis/protocol_rerun.py')
    a = write(tmp_path, 'a', make_result(SEARCHED, RANDOMS))
    assert tool.main([a, a, '--bootstrap-reps', '200']) == 0
    assert 'the rerun agrees' in capsys.readouterr().out
    moved = [[v + 4.0 for v in s] for s in SEARCHED]
    b = write(tmp_path, 'b', make_result(moved, RANDOMS))
    assert tool.main([a, b, '--bootstrap-reps', '200']) == 1


def test_an_extra_arm_searched_otherwise_is_refused(tmp_path):
    a = write(tmp_path, 'a', make_result(SEARCHED, RANDOMS, extra=SEARCHED))
    b = write(tmp_path, 'b', make_result(SEARCHED, RANDOMS, extra=SEARCHED,
                                         uni_spec='uni=b.py'))
    with pytest.raises(ConfigError, match="extra arm.*uni: 'uni=a.py' vs "
                       "'uni=b.py'"):
        R.rerun_agreement(a, b)
    # the core arms can still be compared
    out = R.rerun_agreement(a, b, arms=['searched'], bootstrap_reps=200)
    assert list(out.result['arms']) == ['searched']
