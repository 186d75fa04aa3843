"""tools/benchmark on the demo space at a tiny batch (numbers, ratios)."""
import json

import pytest
import torch

from densenas_mm.apis.benchmark import search_step as S
from helpers.tools import load_tool

E = load_tool('benchmark/estimator.py')
TOOL = load_tool('benchmark/search_step.py')


@pytest.fixture(scope='module')
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp('bench') / 'demo.json'
    threads = torch.get_num_threads()
    try:
        rep = TOOL.main([
            'densenas_demo_32', '--device', 'cpu', '--batch-size', '2',
            '--repeats', '2', '--warmup', '1', '--estimator', 'flops',
            '--sync-counts', '--out',
            str(out)
        ])
    finally:
        torch.set_num_threads(threads)
    return rep, out


def test_numbers_positive(report):
    rep, _ = report
    assert set(rep['results']) == set(S.CASES)
    for name, r in rep['results'].items():
        for key in ('images_per_s', 'median_s', 'train_gflops_per_step',
                    'achieved_gflops_per_s', 'forward_mflops_per_image'):
            assert r[key] > 0, (name, key)
        assert r['iqr_s'] >= 0
        assert r['peak_mem_mib'] >= 0
        assert r['images_per_s'] == pytest.approx(2 / r['median_s'])
    res = rep['results']
    # The arch step runs two ops per mixed op, the weight step one.
    assert res['arch']['forward_mflops_per_image'] > \
        res['weight']['forward_mflops_per_image']
    assert res['epoch']['forward_mflops_per_image'] == pytest.approx(
        0.8 * res['weight']['forward_mflops_per_image'] +
        0.2 * res['arch']['forward_mflops_per_image'])
    assert res['weight']['train_gflops_per_step'] == pytest.approx(
        3 * res['weight']['forward_mflops_per_image'] * 2 / 1e3)


def test_ratios_computed_right(report):
    rep, _ = report
    res, ratios = rep['results'], rep['ratios']
    for name, r in res.items():
        assert ratios['time_vs_subnet'][name] == pytest.approx(
            r['median_s'] / res['subnet']['median_s'])
        assert ratios['time_vs_mbv2'][name] == pytest.approx(
            r['median_s'] / res['mbv2']['median_s'])
        assert ratios['flop_efficiency_vs_mbv2'][name] == pytest.approx(
            r['achieved_gflops_per_s'] / res['mbv2']['achieved_gflops_per_s'])
    assert ratios['time_vs_subnet']['subnet'] == pytest.approx(1.0)


def test_json_and_table(report):
    rep, out = report
    with open(out) as f:
        assert json.load(f)['results'].keys() == rep['results'].keys()
    table = S.format_table(rep)
    assert '| arch |' in table and '| mbv2 |' in table


def test_no_index_syncs_in_steps(report):
    """Regression: no list-indexing (host-to-device copy on CUDA) left in
    the weight / arch steps, and no device-to-host copy in the weight step
    beyond the finite-loss check."""
    rep, _ = report
    syncs = rep['sync_points']
    assert syncs['weight']['index_from_list'] == 0
    assert syncs['arch']['index_from_list'] == 0
    assert syncs['weight']['item'] <= 1


def test_compute_ratios_synthetic():
    res = {
        'weight': dict(median_s=2.0, achieved_gflops_per_s=1.0),
        'subnet': dict(median_s=0.5, achieved_gflops_per_s=2.0),
        'mbv2': dict(median_s=1.0, achieved_gflops_per_s=4.0),
    }
    r = S.compute_ratios(res)
    assert r['time_vs_subnet']['weight'] == 4.0
    assert r['time_vs_mbv2']['subnet'] == 0.5
    assert r['flop_efficiency_vs_mbv2']['weight'] == 0.25


def test_estimator_tool():
    threads = torch.get_num_threads()
    try:
        rep = E.main([
            'densenas_demo_32', '--batch-size', '2', '--repeats', '1',
            '--warmup', '1', '--estimator', 'flops'
        ])
    finally:
        torch.set_num_threads(threads)
    assert rep['estimator_fwd_bwd']['median_s'] > 0
    assert rep['arch_step']['median_s'] > 0
    assert rep['expected_cost_pair_mode'] > 0
    assert rep['estimator_share_of_arch_step'] == pytest.approx(
        rep['estimator_fwd_bwd']['median_s'] / rep['arch_step']['median_s'])
