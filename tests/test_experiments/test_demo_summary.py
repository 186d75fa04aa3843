"""The demo's summary table (densenas_mm.experiments.demo_summary) and its tool."""
import json
import os
import os.path as osp

import pytest

from densenas_mm.experiments.demo_summary import (collect, format_table,
                                                  net_names)
from densenas_mm.search_space import load_preset
from densenas_mm.structures import DerivedArch
from helpers.builders import build_pair
from helpers.tools import load_tool


def _write(path, data):
    os.makedirs(osp.dirname(path), exist_ok=True)
    if isinstance(data, DerivedArch):
        data.dump(path)
        return
    with open(path, 'w') as f:
        json.dump(data, f)


@pytest.fixture(scope='module')
def mutator():
    return build_pair(load_preset('densenas_demo_32'))[1]


def _arch(mutator, latency):
    """A real architecture of the demo space with its LUT latency."""
    return mutator.derived_arch(meta=dict(latency=latency))


def _work_dir(wd, mutator):
    _write(osp.join(wd, 'arch.yaml'), _arch(mutator, 9.0))
    _write(osp.join(wd, 'arch_test', 'metrics.json'),
           {'accuracy/top1': 91.25, 'accuracy/top5': 99.0})
    _write(osp.join(wd, 'arch_audit.json'), [
        dict(part='stem', predicted_ms=1.0, measured_ms=1.1, std_ms=0.1,
             rel_error=0.1),
        dict(part='whole net', predicted_ms=4.5, measured_ms=5.0,
             std_ms=0.2, rel_error=-0.1)])
    _write(osp.join(wd, 'arch_flops.json'), dict(macs=1_234_000,
                                                 params=34_500))
    # random_10 sorts after random_2 (numerically)
    for k, top1 in ((0, 90.0), (2, 92.0), (10, 80.5)):
        _write(osp.join(wd, f'random_{k}.yaml'), _arch(mutator, 4.4))
        _write(osp.join(wd, f'random_{k}_test', 'metrics.json'),
               {'accuracy/top1': top1, 'accuracy/top5': 98.0})
    _write(osp.join(wd, 'search', 'vis', 'history.json'), [
        dict(epoch=1, phase='warmup', path=[0, 1, 3, 7], val_top1=20.0,
             alpha_entropy=1.1, beta_entropy=0.8, expected_latency=9.0),
        dict(epoch=2, phase='search', path=[0, 2, 3, 7], val_top1=60.0,
             alpha_entropy=1.0, beta_entropy=0.7, expected_latency=8.0),
        dict(epoch=3, phase='search', path=[0, 1, 3, 7],
             alpha_entropy=0.5, beta_entropy=0.4, expected_latency=6.0)])
    _write(osp.join(wd, 'timing.json'), dict(search=100.0, total=300.0))
    with open(osp.join(wd, 'dataset.txt'), 'w') as f:
        f.write('fashion-mnist (/somewhere)\n')


def test_summary_table_from_inputs(tmp_path, mutator):
    wd = str(tmp_path)
    _work_dir(wd, mutator)
    assert net_names(wd) == ['arch', 'random_0', 'random_2', 'random_10']
    summary = collect(wd)
    arch, r0, r2, r10 = summary['nets']
    assert arch['top1'] == 91.25 and r10['top1'] == 80.5
    assert arch['lut_latency_ms'] == 4.5  # the audit's whole-net row wins
    assert r0['lut_latency_ms'] == 4.4  # the YAML's meta otherwise
    assert arch['measured_latency_ms'] == 5.0
    assert arch['macs_M'] == pytest.approx(1.234)
    assert arch['params_M'] == pytest.approx(0.0345)
    assert 'macs_M' not in r0
    derived = mutator.derived_arch()
    assert arch['path'] == list(derived.path)
    assert arch['net_config'] == derived.to_net_config()
    comp = summary['comparison']
    assert comp['random_mean'] == pytest.approx((90.0 + 92.0 + 80.5) / 3)
    assert comp['ranks'] == [2] and comp['of'] == 4  # 92.0 beats 91.25
    assert summary['search']['warmup_epochs'] == 1
    assert summary['search']['supernet_val_top1_last'] == 60.0
    assert summary['search']['alpha_entropy'] == [1.0, 0.5]
    assert summary['search']['expected_latency'] == [8.0, 6.0]
    assert summary['dataset'].startswith('fashion-mnist')

    text = format_table(summary)
    lines = text.splitlines()
    assert lines[0] == 'data: fashion-mnist (/somewhere)'
    assert lines[1].split()[:2] == ['net', 'path']
    row = lines[3]
    assert row.startswith('searched')
    for value in ('4.50', '5.00', '1.23', '0.0345', '91.25'):
        assert value in row
    assert lines[4].startswith('random 0') and '90.00' in lines[4]
    assert 'vs random 87.50 +- 6.14' in text
    assert 'rank of the searched net: 2 of 4' in text
    # the next line says where the comparison with statistics lives
    after = text.split('rank of the searched net: 2 of 4\n')[1]
    assert after.startswith('one retrain per net: this cannot tell')
    assert 'docs/search_quality.md' in after.splitlines()[0]
    assert 'alpha entropy 1.000 -> 0.500' in text
    assert 'expected latency 8.00 -> 6.00 ms' in text
    assert 'derived path changed 2 times' in text
    assert 'total 300' in text

    assert load_tool('analysis/demo_summary.py').main([wd]) == 0
    saved = json.load(open(osp.join(wd, 'summary.json')))
    assert saved['nets'][0]['top1'] == 91.25
    assert open(osp.join(wd, 'summary.txt')).read() == text


def test_summary_without_random_nets_or_history(tmp_path, mutator):
    wd = str(tmp_path)
    _write(osp.join(wd, 'arch.yaml'), _arch(mutator, 3.0))
    summary = collect(wd)
    assert len(summary['nets']) == 1 and 'comparison' not in summary
    assert 'search' not in summary
    assert format_table(summary).splitlines()[0].startswith('net')


def test_summary_lists_the_budget_nets(tmp_path, mutator):
    """``budgets/front.json`` (written by the derive_budgets job from a
    search checkpoint's alpha / beta) becomes the budget table."""
    import torch

    from densenas_mm.apis.budgets import derive_budgets
    wd = str(tmp_path)
    _write(osp.join(wd, 'arch.yaml'), _arch(mutator, 3.0))
    ckpt = osp.join(wd, 'search.pth')
    torch.save(dict(state_dict={
        f'algo.mutator._arch_params.{alias}': p.detach()
        for alias, p in mutator.arch_params.items()
    }), ckpt)
    out = derive_budgets(
        'configs/densenas/densenas_supernet-demo_1xb32-20e_digits.py', ckpt,
        front=3, metric='flops', out_dir=osp.join(wd, 'budgets'))
    assert out.status == 0, out.err
    summary = collect(wd)
    budgets = summary['budgets']
    assert budgets['unit'] == 'MFLOPs' and len(budgets['budgets']) == 3
    assert budgets['front_size'] == len(out.result['front'])
    text = format_table(summary)
    assert 'one search, many budgets' in text
    lines = text.splitlines()
    first = lines.index(next(line for line in lines
                             if 'budget MFLOPs' in line)) + 1
    for row, line in zip(out.result['budgets'], lines[first:first + 3]):
        assert line.split()[:3] == [f'{row["budget"]:.3f}',
                                    f'{row["cost"]:.3f}',
                                    f'{row["logp"]:.3f}']
    assert "today's derivation (Viterbi + argmax)" in text
