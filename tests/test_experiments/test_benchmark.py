"""tools/benchmark on the demo space at a tiny batch (numbers, ratios)."""
import json

import pytest
import torch

from densenas_mm.experiments.benchmark import projection as P
from densenas_mm.experiments.benchmark import search_step as S
from densenas_mm.experiments.benchmark.report import format_report
from densenas_mm.experiments.benchmark.settings import SETTINGS
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
            '--repeats', '3', '--warmup', '1', '--estimator', 'flops',
            '--sync-counts', '--out',
            str(out)
        ])
    finally:
        torch.set_num_threads(threads)
    return rep, out


def test_numbers_positive(report):
    rep, _ = report
    assert set(rep['results']) == set(SETTINGS)
    for setting, res in rep['results'].items():
        assert set(res) == set(S.CASES)
        for name, r in res.items():
            for key in ('images_per_s', 'median_s', 'train_gflops_per_step',
                        'achieved_gflops_per_s', 'forward_mflops_per_image'):
                assert r[key] > 0, (setting, name, key)
            assert r['iqr_s'] >= 0 and r['repeats'] == 3
            assert r['peak_mem_mib'] >= 0
            assert r['images_per_s'] == pytest.approx(2 / r['median_s'])
    res = rep['results']['default']
    # The arch step runs two ops per mixed op, the weight step one; a
    # path-sampling weight step runs one path, fewer ops than all paths.
    assert res['arch']['forward_mflops_per_image'] > \
        res['weight']['forward_mflops_per_image']
    assert res['weight_path']['forward_mflops_per_image'] < \
        res['weight']['forward_mflops_per_image']
    assert res['epoch']['forward_mflops_per_image'] == pytest.approx(
        0.8 * res['weight']['forward_mflops_per_image'] +
        0.2 * res['arch']['forward_mflops_per_image'])
    assert res['epoch_path']['forward_mflops_per_image'] == pytest.approx(
        0.8 * res['weight_path']['forward_mflops_per_image'] +
        0.2 * res['arch']['forward_mflops_per_image'])
    assert res['weight']['train_gflops_per_step'] == pytest.approx(
        3 * res['weight']['forward_mflops_per_image'] * 2 / 1e3)


def test_ratios_computed_right(report):
    rep, _ = report
    for setting, res in rep['results'].items():
        ratios = rep['ratios'][setting]
        for name, r in res.items():
            assert ratios['time_vs_subnet'][name] == pytest.approx(
                r['median_s'] / res['subnet']['median_s'])
            assert ratios['time_vs_mbv2'][name] == pytest.approx(
                r['median_s'] / res['mbv2']['median_s'])
        assert ratios['time_vs_subnet']['subnet'] == pytest.approx(1.0)
        spread = rep['round_ratios'][setting]['weight_path_vs_subnet']
        assert spread['rounds'] == 3
        assert spread['min'] <= spread['median'] <= spread['max']
    speed = rep['speedup']
    assert set(speed) == {'default', 'channels_last'}
    assert speed['default']['weight']['rounds'] == 3


def test_settings_compute_the_same_steps(report):
    """The default setting's losses and gradients equal the reference's
    within float32 rounding, and both are as close to float64."""
    rep, _ = report
    same = rep['same_results']
    assert set(same) == {'weight', 'arch', 'weight_path'}
    for case, r in same.items():
        rows = r['settings']
        assert r['compared_with'] == 'reference' and r['params'] > 0
        assert rows['reference']['grad_diff'] == 0
        assert rows['default']['loss_diff'] <= 1e-5
        assert rows['default']['grad_diff'] < 1e-5, case
        assert rows['channels_last']['grad_diff'] < 1e-3, case
        assert r['float64_loss'] == pytest.approx(
            rows['reference']['loss'], rel=1e-5)
        # float32 rounding (the search recipe's PyTorch-default classifier
        # init at batch 2 makes it ~1e-4; a wrong kernel gives ~1)
        assert rows['reference']['grad_error_vs_float64'] < 1e-3, case
        assert rows['default']['grad_error_vs_float64'] < 1e-3, case


def test_json_and_table(report):
    rep, out = report
    with open(out) as f:
        saved = json.load(f)
    assert saved['results'].keys() == rep['results'].keys()
    assert saved['settings']['reference'] == dict(
        channels_last=False, depthwise_grad='native', relist_weights=True)
    assert len(saved['load_rounds']) == 3
    table = format_report(rep)
    for row in ('| default | arch |', '| channels_last | weight_path |',
                '| reference | mbv2 |', '| weight_path | default |'):
        assert row in table, row
    assert 'path-sampling weight step =' in table
    assert rep['projection'] is None  # the demo space is not the paper's


def test_no_index_syncs_in_steps(report):
    """Regression: no list-indexing (host-to-device copy on CUDA) left in
    the weight / arch steps, and no device-to-host copy in the weight steps
    beyond the finite-loss check."""
    rep, _ = report
    syncs = rep['sync_points']
    for case in ('weight', 'weight_path', 'arch'):
        assert syncs[case]['index_from_list'] == 0, case
    assert syncs['weight']['item'] <= 1
    assert syncs['weight_path']['item'] <= 1


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
    spread = S.round_ratios([2.0, 3.0, 8.0], [1.0, 1.0, 2.0])
    assert spread['median'] == 3.0 and spread['min'] == 2.0
    assert spread['max'] == 4.0 and spread['rounds'] == 3


def test_paper_search_projection():
    # 150 epochs x ceil(102,400 / 352) weight steps, 100 x ceil(25,600 /
    # 352) arch steps, at batch 352
    assert (P.WEIGHT_STEPS, P.ARCH_STEPS) == (150 * 291, 100 * 73)
    assert P.search_hours(1.0, 0.0) == pytest.approx(352 * 43650 / 3600)
    assert P.search_hours(0.0, 2.0) == pytest.approx(352 * 7300 * 2 / 3600)
    res = {'default': dict(weight=dict(median_s=0.8),
                           weight_path=dict(median_s=0.4),
                           arch=dict(median_s=1.6))}
    proj = P.paper_search_projection(res, batch_size=8)
    assert proj['hours']['default']['weight'] == pytest.approx(
        P.search_hours(0.1, 0.2))
    assert proj['hours']['default']['weight_path'] == pytest.approx(
        P.search_hours(0.05, 0.2))


def test_bad_arguments_are_refused():
    for argv in (['densenas_demo_32', '--cases', 'weight,nope'],
                 ['densenas_demo_32', '--settings', 'fastest'],
                 ['densenas_demo_32', '--repeats', '0']):
        with pytest.raises(SystemExit):
            TOOL.parse_args(argv)


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


def test_depthwise_grad_tool_times_and_checks_every_shape(tmp_path):
    tool = load_tool('benchmark/depthwise_grad.py')
    out = tmp_path / 'dw.json'
    report = tool.main(['--batch-size', '1', '--rounds', '1', '--repeats',
                        '1', '--kernels', '3', '5', '--out', str(out)])
    rows = report['rows']
    assert len(rows) == 2 * 2 * 5  # kernels x strides x MBV2 shapes
    for r in rows:
        assert r['native_ms'] > 0 and r['grouped_ms'] > 0
        assert r['ratio'] == pytest.approx(r['grouped_ms'] / r['native_ms'])
        assert r['max_rel_diff'] < 1e-4  # the same gradient
        assert r['auto_grouped'] is (r['kernel'] >= 5)
    assert json.loads(out.read_text())['rows'] == rows


def test_kernel_profile_shares(tmp_path):
    tool = load_tool('benchmark/kernel_profile.py')
    report = tool.main(['densenas_demo_32', '--batch-size', '2', '--steps',
                        '1', '--top', '5', '--out', str(tmp_path / 'k.json')])
    for phase in ('weight', 'arch'):
        r = report['phases'][phase]
        assert r['step_self_cpu_s'] > 0
        shares = [k['share'] for k in r['kernels']]
        assert len(shares) == 5 and shares == sorted(shares, reverse=True)
        assert 0 < sum(shares) <= 1 + 1e-9
        assert all(k['calls_per_step'] >= 1 for k in r['kernels'])
    assert json.loads((tmp_path / 'k.json').read_text())['phases'].keys() \
        == {'weight', 'arch'}
