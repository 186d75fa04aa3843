"""``tools/analysis/derive_budgets.py`` (issue 23): nets for many budgets
from one search checkpoint, on the demo space (a real search algorithm's
checkpoint layout), a tiny space (against brute force), the paper's MBV2
space with the shipped table and the ResNet space with FLOPs."""
import csv
import json
import math
import os.path as osp

import pytest
import torch
from helpers import REPO_ROOT
from helpers.brute_force import (brute_force, brute_front, random_params,
                                 small_spaces)
from helpers.builders import build_pair
from helpers.tools import load_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmrazor.structures import load_fix_subnet

from densenas_mm.apis.budgets import budget_estimator, derive_budgets
from densenas_mm.apis.model_io import build_classifier
from densenas_mm.models.estimators import ChainedLatencyEstimator
from densenas_mm.registry import MODELS
from densenas_mm.search_space import SpaceGraph, search_space_from_cfg
from densenas_mm.structures import DerivedArch, params_from_state_dict

DEMO_CFG = 'configs/densenas/densenas_supernet-demo_1xb32-20e_digits.py'
DEMO_SUBNET = 'configs/densenas/subnets/densenas_subnet-demo_1xb32-10e_digits.py'
DEMO_LUT = 'docs/records/demo_lut_epyc_t1.json'
MBV2_CFG = 'configs/densenas/densenas_supernet-mbv2_4xb88-150e_in100.py'
RESNET_CFG = 'configs/densenas/densenas_supernet-resnet-r1_4xb128-70e_in100.py'


def search_checkpoint(config, path, seed=0):
    """A checkpoint of ``config``'s search algorithm (its whole state, as
    a search writes it) with random alpha / beta."""
    cfg = Config.fromfile(config)
    init_default_scope('mmcls')
    model = cfg.model.copy()
    model.estimator = None
    model.cost_loss = None
    algo = MODELS.build(model)
    gen = torch.Generator().manual_seed(seed)
    for p in algo.mutator.arch_params.values():
        p.data.copy_(torch.randn(p.shape, generator=gen) * 2)
    torch.save(dict(state_dict=algo.state_dict(), meta=dict(epoch=1)),
               str(path))
    return str(path)


def read_csv(path):
    with open(path, encoding='utf-8') as f:
        return list(csv.DictReader(f))


def check_outputs(out_dir, result, est, space):
    """Every budget's net fits it; files agree with the result."""
    for row in result['budgets']:
        arch = DerivedArch.load(osp.join(out_dir, row['arch']))
        cost = est.path_cost(arch, space)
        assert cost <= row['budget']
        assert cost == pytest.approx(row['cost'], rel=1e-9)
        assert arch.meta['predicted_cost'] == pytest.approx(cost, rel=1e-9)
        assert arch.path == row['path']
    assert len(read_csv(osp.join(out_dir, 'front.csv'))) == len(
        result['front'])
    assert len(read_csv(osp.join(out_dir, 'budgets.csv'))) == len(
        result['budgets'])
    with open(osp.join(out_dir, 'front.json'), encoding='utf-8') as f:
        assert json.load(f)['front'] == result['front']
    assert osp.getsize(osp.join(out_dir, 'front.png')) > 1000


@pytest.fixture(scope='module')
def demo_ckpt(tmp_path_factory):
    return search_checkpoint(DEMO_CFG,
                             tmp_path_factory.mktemp('ckpt') / 'demo.pth')


def test_demo_checkpoint_through_the_tool(demo_ckpt, tmp_path, capsys):
    tool = load_tool('analysis/derive_budgets.py')
    out = tmp_path / 'out'
    assert tool.main([DEMO_CFG, demo_ckpt, '--front', '4', '--budgets',
                      '5.0', '--lut', DEMO_LUT, '--out-dir',
                      str(out)]) == 0
    text = capsys.readouterr().out
    assert 'today (Viterbi + argmax)' in text
    assert 'joint-logp optimum (no budget)' in text
    with open(out / 'front.json', encoding='utf-8') as f:
        result = json.load(f)
    assert result['metric'] == 'latency' and len(result['budgets']) == 5
    space = search_space_from_cfg(DEMO_CFG)
    est = ChainedLatencyEstimator(lut=DEMO_LUT, metric='latency',
                                  target_device=None)
    check_outputs(str(out), result, est, space)
    front = result['front']
    # the evenly spaced budgets span the front; the last picks its top
    budgets = sorted(r['budget'] for r in result['budgets'])
    assert budgets[0] == front[0]['cost'] and 5.0 in budgets
    assert result['budgets'][-1]['logp'] == front[-1]['logp']
    assert result['joint_optimum']['logp'] >= result['viterbi_argmax'][
        'logp'] - 1e-12
    # round trip: a budget YAML is a subnet config's arch and fixes the
    # search supernet (load_fix_subnet) to its path
    arch_file = str(out / result['budgets'][0]['arch'])
    model = build_classifier(
        DEMO_SUBNET, cfg_options={'model.backbone.arch': arch_file})
    with torch.no_grad():
        x = torch.randn(2, model.backbone.in_channels, 32, 32)
        logits = model.eval()(x, mode='tensor')
    assert logits.shape == (2, space.num_classes)
    supernet, mutator = build_pair(space)
    arch = DerivedArch.load(arch_file)
    load_fix_subnet(supernet, arch.to_dict())
    assert mutator.supernet.edges_in_play() == set(
        zip(arch.path, arch.path[1:]))


def test_window_spends_the_budget(demo_ckpt, tmp_path):
    """--window 0.05: every budget's net costs between 0.95 x budget and
    the budget where the space has a net there (checked on path_cost) and
    is the most probable such net; elsewhere the plain derivation."""
    from densenas_mm.models.estimators.budget_derivation import window_best
    tool = load_tool('analysis/derive_budgets.py')
    plain, windowed = tmp_path / 'plain', tmp_path / 'win'
    args = [DEMO_CFG, demo_ckpt, '--front', '6', '--lut', DEMO_LUT]
    assert tool.main(args + ['--out-dir', str(plain)]) == 0
    assert tool.main(args + ['--window', '0.05', '--out-dir',
                             str(windowed)]) == 0
    with open(plain / 'front.json', encoding='utf-8') as f:
        before = json.load(f)
    with open(windowed / 'front.json', encoding='utf-8') as f:
        after = json.load(f)
    assert after['window'] == 0.05 and before['window'] == 0.0
    space = search_space_from_cfg(DEMO_CFG)
    est = ChainedLatencyEstimator(lut=DEMO_LUT, metric='latency',
                                  target_device=None)
    params = params_from_state_dict(torch.load(demo_ckpt)['state_dict'])
    costs = est.space_costs(space)
    moved = 0
    for old, new in zip(before['budgets'], after['budgets']):
        budget = new['budget']
        arch = DerivedArch.load(str(windowed / new['arch']))
        cost = est.path_cost(arch, space)
        assert cost <= budget and cost == pytest.approx(new['cost'])
        want = window_best(costs, space, params, 0.95 * budget, budget)
        if want is None:  # nothing in the window: the plain derivation
            assert new['logp'] == pytest.approx(old['logp'])
            continue
        assert 0.95 * budget <= cost
        assert new['logp'] == pytest.approx(want.logp)
        assert new['logp'] <= old['logp'] + 1e-12  # a constraint more
        moved += old['cost'] < 0.95 * budget
    assert moved >= 1
    with pytest.raises(SystemExit) as exit_info:
        tool.main(args + ['--window', '1.5', '--out-dir', str(tmp_path)])
    assert exit_info.value.code == 2


def test_budget_below_the_cheapest_net(demo_ckpt, tmp_path, capsys):
    tool = load_tool('analysis/derive_budgets.py')
    assert tool.main([DEMO_CFG, demo_ckpt, '--budgets', '0.1', '5',
                      '--metric', 'flops', '--out-dir', str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert 'budget 0.1 is below the cheapest net' in err
    cheapest = float(err.split('which costs ')[1].split(':')[0])
    assert cheapest > 0.1 and 'MFLOPs' in err
    assert not list(tmp_path.glob('*.yaml'))


def test_not_a_search_checkpoint(tmp_path, capsys):
    path = tmp_path / 'plain.pth'
    torch.save(dict(state_dict={'backbone.w': torch.zeros(1)}), str(path))
    tool = load_tool('analysis/derive_budgets.py')
    assert tool.main([DEMO_CFG, str(path), '--budgets', '5', '--metric',
                      'flops', '--out-dir', str(tmp_path)]) == 1
    assert 'no mutator._arch_params' in capsys.readouterr().err


def test_checkpoint_of_another_space(demo_ckpt, tmp_path, capsys):
    tool = load_tool('analysis/derive_budgets.py')
    assert tool.main([MBV2_CFG, demo_ckpt, '--budgets', '20', '--out-dir',
                      str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'do not belong to this search' \
        in err and MBV2_CFG in err


def test_tiny_space_equals_brute_force(tmp_path):
    """A search config of a tiny space: every budget's net is the
    brute-force optimum and the front the brute-force Pareto set."""
    space = small_spaces()[1]
    cfg = tmp_path / 'tiny.py'
    cfg.write_text(
        f"_base_ = [{osp.join(REPO_ROOT, DEMO_CFG)!r}]\n"
        f"search_space = dict(_delete_=True, **{space.to_dict()!r})\n"
        f"model = dict(architecture=dict(backbone=dict(search_space=dict("
        f"_delete_=True, **{space.to_dict()!r})), head=dict(in_channels="
        f"{space.last_dim})))\n")
    ckpt = search_checkpoint(str(cfg), tmp_path / 'tiny.pth', seed=3)
    assert search_space_from_cfg(str(cfg)).name == 'tiny_b'
    est = ChainedLatencyEstimator(metric='flops')
    costs = est.space_costs(space)
    graph = SpaceGraph(space)
    params = params_from_state_dict(torch.load(ckpt)['state_dict'])
    nets = brute_force(costs, space, graph, params)
    lo, hi = min(n[0] for n in nets), max(n[0] for n in nets)
    budgets = [lo + (hi - lo) * k / 12 for k in range(13)]
    output = derive_budgets(str(cfg), ckpt, budgets=budgets,
                            metric='flops', out_dir=str(tmp_path / 'o'))
    assert output.status == 0, output.err
    result = output.result
    assert len(result['front']) == len(brute_front(nets))
    for row in result['budgets']:
        best = max((n for n in nets if n[0] <= row['budget']),
                   key=lambda n: n[1])
        assert row['logp'] == pytest.approx(best[1], abs=1e-12)
        assert row['cost'] == best[0] and row['path'] == list(best[2])
    check_outputs(str(tmp_path / 'o'), result, est, space)


@pytest.mark.parametrize('config,metric,lut', [(MBV2_CFG, None, None),
                                               (RESNET_CFG, 'flops', None)])
def test_paper_spaces(config, metric, lut, tmp_path):
    """The MBV2 space with the shipped (config's) table, the ResNet space
    with FLOPs: synthetic alpha / beta (a CPU cannot run those searches)."""
    space = search_space_from_cfg(config)
    graph = SpaceGraph(space)
    params = {
        a: v
        for a, v in random_params(space, graph, 1).items() if v.numel() > 1
    }
    ckpt = tmp_path / 'synthetic.pth'
    torch.save(dict(state_dict={f'mutator._arch_params.{a}': v
                                for a, v in params.items()}), str(ckpt))
    output = derive_budgets(config, str(ckpt), front=5, metric=metric,
                            lut=lut, out_dir=str(tmp_path / 'o'))
    assert output.status == 0, output.err
    result = output.result
    # the config's estimator (the ResNet config regularises skip)
    est = budget_estimator(Config.fromfile(config), metric)
    assert result['metric'] == est.metric == (metric or 'latency')
    assert (est.table is None) == (metric == 'flops')
    check_outputs(str(tmp_path / 'o'), result, est, space)
    costs = [r['cost'] for r in result['front']]
    assert costs == sorted(costs) and len(costs) > 10
    assert not math.isinf(result['joint_optimum']['logp'])
