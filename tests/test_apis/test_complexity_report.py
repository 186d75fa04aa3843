"""Params / MACs reports (densenas_mm.apis.complexity)."""
import os.path as osp

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.apis.complexity import format_report, model_complexity
from densenas_mm.apis.model_io import build_classifier
from densenas_mm.models.estimators import NOT_COUNTED
from helpers import REPO_ROOT

SUBNETS = osp.join(REPO_ROOT, 'configs', 'densenas', 'subnets')
C_CFG = osp.join(SUBNETS, 'densenas_subnet-c_8xb128-240e_in1k.py')
DEMO_CFG = osp.join(SUBNETS, 'densenas_subnet-demo_1xb32-10e_digits.py')


@pytest.fixture(scope='module')
def demo_model():
    torch.manual_seed(0)
    return build_classifier(DEMO_CFG)


def resource_estimator(model, input_shape):
    """The same totals from mmrazor's ``ResourceEstimator`` (an independent
    entry point: its own model handling, units and unit conversion)."""
    from mmrazor.models.task_modules import ResourceEstimator
    was_training = model.training
    units = dict(flops='K', params='K')  # exact with mmrazor's 3 decimals
    est = ResourceEstimator(
        input_shape=tuple(input_shape), units=units, as_strings=False)
    shape = dict(input_shape=tuple(input_shape), units=units)
    macs = est.estimate(
        model, flops_params_cfg=dict(shape,
                                     disabled_counters=NOT_COUNTED))['flops']
    params = est.estimate(model, flops_params_cfg=shape)['params']
    model.train(was_training)
    return dict(macs=round(macs * 1e3), params=round(params * 1e3))


def test_densenas_c_params_and_macs_match_the_paper():
    model = build_classifier(C_CFG)
    result = model_complexity(model, (1, 3, 224, 224))
    # published: 6.13 M params, 360.8 M mult-adds (BN / act not counted)
    assert result['params'] == pytest.approx(6.13e6, rel=0.005)
    assert result['macs'] == pytest.approx(360.8e6, rel=0.005)
    assert (result['params'], result['macs']) == (6_134_144, 360_808_256)
    head = result['per_block'][-1]
    assert head['name'] == 'head' and head['macs'] == 1984 * 1000
    assert sum(r['macs'] for r in result['per_block']) == result['macs']
    assert sum(r['params'] for r in result['per_block']) == result['params']
    ref = resource_estimator(model, (1, 3, 224, 224))
    assert ref == dict(macs=result['macs'], params=result['params'])


@pytest.mark.parametrize('size', [32, 48])
def test_counts_agree_with_mmrazor_resource_estimator(demo_model, size):
    shape = (1, 3, size, size)
    result = model_complexity(demo_model, shape)
    ref = resource_estimator(demo_model, shape)
    assert ref == dict(macs=result['macs'], params=result['params'])
    rows = {r['name']: r for r in result['per_block']}
    assert rows['backbone.terminal']['out_shape'] == (128, size // 8,
                                                      size // 8)
    text = format_report(result, per_block=True)
    assert 'block 2 node 4 16->32 s2 mbconv_k5_t3' in text
