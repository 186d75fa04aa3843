"""The retrain cost benchmark on the digits demo (one round, small)."""
import json
import os.path as osp

import pytest

import densenas_mm  # noqa: F401
from densenas_mm.experiments import retrain_cost as RC
from helpers import REPO_ROOT
from helpers.tools import load_tool

DIGITS_SUBNET = osp.join(REPO_ROOT, 'configs', 'densenas', 'subnets',
                         'densenas_subnet-demo_1xb32-10e_digits.py')


def test_retrain_cost_variants_and_checks(demo_data_root, monkeypatch,
                                          tmp_path):
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    tool = load_tool('benchmark/retrain_cost.py')
    out = tmp_path / 'cost.json'
    report = tool.main([
        DIGITS_SUBNET, '--rounds', '2', '--calls', '1', '--variants',
        'config', 'channels_last', 'batch_x2', '--out', str(out)
    ])
    steps = report['steps']
    assert list(steps) == ['config', 'channels_last', 'batch_x2']
    assert steps['config']['images_per_step'] == 32
    assert steps['batch_x2']['images_per_step'] == 64
    for r in list(steps.values()) + list(report['data'].values()):
        assert r['cpu_s_per_image'] > 0 and r['wall_s_per_image'] > 0
    # the default against itself is exact; channels-last is the same
    # function up to float32 rounding (summation order: 0.6 % here)
    assert steps['config']['grad_rel_diff'] == 0.0
    assert steps['channels_last']['loss_diff'] < 1e-4
    assert steps['channels_last']['grad_rel_diff'] < 0.05
    assert 'grad_rel_diff' not in steps['batch_x2']
    assert set(report['data']) == set(RC.DATA_VARIANTS)
    assert json.load(open(out))['steps'].keys() == steps.keys()
    text = RC.format_report(report)
    assert '| step | channels_last | 32 |' in text
    assert '| batch | preloaded | 32 |' in text


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="unknown step variants \\['fast'\\]"):
        RC.run(DIGITS_SUBNET, variants=['fast'])
