"""Extra searched arms of the searched-vs-random protocol (issue 21 item 5
measured with item 4): the ``--extra-arm`` specs and their refusals (one
``error:`` line before anything runs), each searched net's own latency
window, and an arm added to a finished run end to end (only its search and
its new nets run; densenas_mm.experiments.searched_arms)."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.experiments import protocol_nets as PN
from helpers.experiment_tools import (DIGITS_SEARCH,
                                      assert_resume_runs_nothing, demo_tool,
                                      retrain_tool_args)


def test_extra_arm_specs_parse_into_arms():
    from densenas_mm.experiments import searched_arms as SA
    arms = SA.parse_extra_arms([SA.EXAMPLE, f'b2={DIGITS_SEARCH}'])
    assert [a.name for a in arms] == ['uniform_long_warmup', 'b2']
    uni, other = arms
    assert uni.options == ('warmup_epochs=15',) and other.options == ()
    assert uni.config.endswith('densenas_supernet-demo-uniform_1xb32-20e_'
                               'fmnist.py') and osp.isfile(uni.config)
    assert uni.folder('/w', 3) == osp.join('/w', 'search_uniform_long_'
                                           'warmup_s3')
    # the common options first, its own last (they win)
    assert uni.search_options(['a=1']) == ['a=1', 'warmup_epochs=15']
    assert SA.parse_extra_arms(None) == [] == SA.parse_extra_arms([])


@pytest.mark.parametrize('spec, match', [
    ('my-arm={cfg}', "name 'my-arm' is not a plain identifier"),
    ('2nd={cfg}', "name '2nd' is not a plain identifier"),
    ('rsws={cfg}', "name 'rsws' is reserved"),
    ('searched={cfg}', "name 'searched' is reserved"),
    ('x=configs/nope.py', "--extra-arm 'x': config 'configs/nope.py' not "
     'found'),
    ('x={cfg},warmup_epochs', "'warmup_epochs' is not KEY=VALUE"),
    ('uniform', 'give NAME=CONFIG'),
    ('wide=configs/densenas/densenas_supernet-demowide_1xb32-20e_fmnist.py',
     "searches another space than the protocol's search config"),
])
def test_a_bad_extra_arm_is_one_error_line_at_load_time(
        spec, match, lut, tmp_path, monkeypatch, demo_data_root, capsys):
    from densenas_mm.apis.cli import run_cli
    tool = demo_tool('search_vs_random', monkeypatch, demo_data_root)
    args = retrain_tool_args(lut, tmp_path, [
        '--extra-arm', f'ok={DIGITS_SEARCH}', spec.format(cfg=DIGITS_SEARCH)])
    assert run_cli(lambda: tool.main(args)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: '), err
    assert match in err[0]
    assert list(tmp_path.iterdir()) == []  # nothing drawn, nothing run


def test_a_repeated_extra_arm_name_is_refused():
    from densenas_mm.experiments.searched_arms import parse_extra_arms
    from densenas_mm.utils.options import ConfigError
    with pytest.raises(ConfigError, match="name 'a' given twice"):
        parse_extra_arms([f'a={DIGITS_SEARCH}', f'a={DIGITS_SEARCH}'])


def test_each_searched_net_gets_its_own_window(tmp_path):
    from densenas_mm.apis.random_arch import build_search_mutator, random_arch
    from densenas_mm.experiments.searched_arms import match_searched
    from densenas_mm.utils.options import ConfigError
    demo_mutator = build_search_mutator(DIGITS_SEARCH)
    gen = torch.Generator().manual_seed(2)
    archs = {}
    while len(archs) < 8:
        a = random_arch(demo_mutator, gen)
        archs.setdefault(a.to_net_config(), a)
    searched, extra, *pooled = archs.values()
    lats = [5.0, 8.0, 5.02, 8.03, 4.99, 7.98]
    pool = dict(archs=[dict(arch=a.to_dict(), latency=lat)
                       for a, lat in zip(pooled, lats)])
    own = {searched.to_net_config(): 5.0, extra.to_net_config(): 8.0}
    latency_of = lambda arch: own[arch.to_net_config()]  # noqa: E731
    paths = []
    for name, arch in (('searched', searched), ('extra', extra)):
        paths.append(str(tmp_path / f'{name}.yaml'))
        arch.dump(paths[-1])
    book = PN.NetBook(str(tmp_path / 'nets'))
    kw = dict(latency_of=latency_of, n_random=2, tolerance=0.01,
              max_tolerance=0.05)
    a = match_searched(book, pool, paths[0], 'searched', 0, **kw)
    b = match_searched(book, pool, paths[1], 'uni', 0, **kw)
    assert a['net'].name == 'searched_s0' and b['net'].name == 'uni_s0'
    assert b['net'].roles == ['uni_s0'] and b['net'].latency == 8.0
    assert [n.name for n in a['random']] == ['pool_0', 'pool_2']
    assert [n.name for n in b['random']] == ['pool_1', 'pool_3']
    assert b['window'].indices == [1, 3] and b['window'].inside == 3
    assert b['random'][0].roles == ['random_uni_s0']
    assert a['random'][0].roles == ['random_s0']
    # a net in two windows is one net with both roles
    c = match_searched(book, pool, paths[1], 'wide', 1, **dict(kw,
                                                               n_random=3))
    assert c['net'] is b['net'] and b['net'].roles == ['uni_s0', 'wide_s1']
    assert c['random'][0] is b['random'][0]
    assert c['random'][0].roles == ['random_uni_s0', 'random_wide_s1']
    assert len(book.nets) == 2 + 5
    with pytest.raises(ConfigError, match=r"within 5.0% of the uni arm's "
                       r'net of seed 4 \(8.000 ms'):
        match_searched(book, pool, paths[1], 'uni', 4,
                       **dict(kw, n_random=4))


@pytest.mark.slow
def test_an_extra_arm_added_to_a_finished_run(lut, tmp_path, demo_data_root,
                                              monkeypatch):
    """One search seed, 2-epoch searches, 2 random nets (the window holds
    the whole pool), 1-epoch retrains with 1 seed; then the same command
    with an extra arm (uniform weight sampling): only its search and its
    new nets run, the default arms' numbers stay; a third call runs
    nothing."""
    tool = demo_tool('search_vs_random', monkeypatch, demo_data_root)
    wd = tmp_path / 'svr'
    args = retrain_tool_args(lut, wd, [
        '--search-seeds', '0', '--seeds', '1', '--random', '2',
        '--tolerance', '10', '--max-tolerance', '10',
        '--search-epochs', '2', '--warmup-epochs', '1',
        '--retrain-epochs', '1', '--pool-draws', '100', '--no-rsws',
        '--no-hand', '--bootstrap-reps', '200', '--jobs', '2'
    ])
    first = tool.main(args)
    assert first['extra_arms'] == {}
    assert first['cpu_hours']['extra_searches'] == 0
    logs = sorted(wd.rglob('*.log'))
    stamps = [p.stat().st_mtime_ns for p in logs]
    # uniform weight sampling, and a latency loss 100x the paper's, so
    # that the arm derives another net than the default search
    spec = (f'uni={DIGITS_SEARCH},model.weight_sampling=uniform,'
            'model.cost_loss.loss_weight=15')
    args2 = args + ['--extra-arm', spec]
    result = tool.main(args2)
    # every finished search and retrain reused
    assert [p.stat().st_mtime_ns for p in logs] == stamps
    old = {n['name'] for n in first['nets']}
    nets = {n['name']: n for n in result['nets']}
    assert set(nets) - old == {'uni_s0'} and result['new_runs'] == 1
    assert result['runs'] == result['planned_runs'] == len(nets)
    # the default arm: the same nets, the same numbers
    assert result['slots'] == first['slots']
    assert result['comparisons'] == first['comparisons']
    assert result['between'] == first['between']
    # the extra arm: its own search, its net in its own window
    done = json.load(open(wd / 'search_uni_s0' / 'done.json'))
    assert 'train' in done
    log = (wd / 'search_uni_s0' / 'search.log').read_text()
    assert 'weight_sampling' in log and 'uniform' in log
    rec = result['extra_arms']['uni']
    assert rec['spec'] == spec.split('=', 1)[1]
    assert rec['options'] == ['model.weight_sampling=uniform',
                              'model.cost_loss.loss_weight=15']
    (slot,) = rec['slots']
    assert slot['search_seed'] == 0 and slot['random'] == ['pool_0',
                                                           'pool_1']
    assert slot['window']['tolerance'] == 10.0
    net = nets[slot['net']]
    assert slot['net'] == 'uni_s0' and net['roles'] == ['uni_s0']
    assert net['net_config'] != nets['searched_s0']['net_config']
    assert 'random_uni_s0' in nets['pool_0']['roles']
    own = net['top1_seeds'][0]
    rand_mean = np.mean([nets[n]['top1_seeds'][0]
                         for n in ('pool_0', 'pool_1')])
    comp = rec['comparison']
    assert comp['per_seed'][0]['diff'] == pytest.approx(own - rand_mean)
    assert comp['pooled']['n_nets'] == 1 and comp['pooled']['n_random'] == 2
    searched = nets[result['slots'][0]['searched']]['top1_seeds'][0]
    assert rec['searched_minus']['diff'] == pytest.approx(searched - own)
    cpu = result['cpu_hours']
    assert cpu['extra_searches'] == pytest.approx(rec['cpu_hours'])
    assert rec['cpu_hours'] > 0
    assert cpu['total'] == pytest.approx(
        cpu['searches'] + cpu['rsws'] + cpu['retrains'] +
        cpu['extra_searches'])
    table = (wd / 'results.md').read_text()
    assert f'Extra searched arm `uni`: `{rec["spec"]}`' in table
    assert f"| 0 | uni | {slot['net']} |" in table
    assert 'uni minus random:' in table and 'searched minus uni:' in table
    from densenas_mm.experiments.search_vs_random_report import \
        report_points
    arms = [p['arm'] for p in report_points(result, 'latency')]
    assert arms.count('uni') == 1 and arms.count('searched') == 1
    assert (wd / 'results.png').stat().st_size > 0
    # resume with the arm: nothing runs again
    assert_resume_runs_nothing(tool, args2, wd, result)
