"""The FLOPs / params counter against mmengine.analysis and the paper."""
import pytest
import torch
from mmengine.analysis import FlopAnalyzer

import densenas_mm  # noqa: F401
from densenas_mm.apis.latency_audit import audit_net
from densenas_mm.latency import OpSignature, build_module
from densenas_mm.models.estimators import (ChainedLatencyEstimator,
                                           count_complexity, signature_flops,
                                           signature_params)
from densenas_mm.structures.published import DENSENAS_C
from densenas_mm.structures import DerivedArch, DerivedBlock
from mmrazor.models.task_modules.estimators.counters import \
    get_model_flops_params

NOT_MACS = [
    'BatchNorm2dCounter', 'ReLUCounter', 'ReLU6Counter',
    'AdaptiveAvgPool2dCounter'
]


def counted(model, shape):
    """(conv+linear MACs by mmengine, MACs by mmrazor, params by mmrazor,
    params by numel)."""
    model.eval()
    ops = FlopAnalyzer(model, torch.randn(shape)).unsupported_ops_warnings(
        False).uncalled_modules_warnings(False).by_operator()
    fv = sum(v for k, v in ops.items() if k in ('conv', 'linear', 'addmm'))
    mr_flops, _ = get_model_flops_params(
        model, input_shape=shape, units=None, disabled_counters=NOT_MACS)
    _, mr_params = get_model_flops_params(model, input_shape=shape, units=None)
    return fv, mr_flops, mr_params, sum(p.numel() for p in model.parameters())


SIGS = [
    OpSignature('mbconv_k3_t1', 16, 16, 1, 20, 20),
    OpSignature('mbconv_k5_t3', 16, 24, 2, 21, 21),
    OpSignature('mbconv_k7_t6', 24, 24, 1, 14, 14),
    OpSignature('basic_block', 32, 48, 2, 16, 16),
    OpSignature('basic_block', 48, 48, 1, 8, 8),
    OpSignature('bottleneck', 64, 128, 2, 14, 14),
    OpSignature('bottleneck', 128, 128, 1, 7, 7),
    OpSignature('conv1_1', 40, 96, 1, 5, 5),
    OpSignature('stem+mbconv_k3_t1', 3, 16, 2, 32, 32),
    OpSignature('stem', 3, 32, 2, 33, 33),
    OpSignature('classifier', 96, 10, 1, 5, 5),
]


@pytest.mark.parametrize('sig', SIGS, ids=lambda s: s.key)
def test_each_op_matches_the_counters(sig):
    act = 'relu' if sig.op in ('basic_block', 'bottleneck', 'stem') else \
        'relu6'
    fv, mr_flops, mr_params, numel = counted(
        build_module(sig, act), (1, sig.c_in, sig.h, sig.w))
    assert signature_flops(sig) == fv == mr_flops
    assert signature_params(sig) == numel == mr_params


def test_skip_is_free():
    sig = OpSignature('skip_connect', 8, 8, 1, 4, 4)
    assert signature_flops(sig) == signature_params(sig) == 0


def test_densenas_c_matches_published_numbers_and_counters():
    arch = DerivedArch.from_net_config(DENSENAS_C)
    result = ChainedLatencyEstimator(lut=None, metric='flops').estimate(arch)
    # Method doc: 6.13 M params and 360.8 M mult-adds at 224x224.
    assert result['flops'] == pytest.approx(360.808256, abs=1e-6)
    assert result['params'] == pytest.approx(6.134144, abs=1e-6)
    fv, mr_flops, mr_params, numel = counted(
        audit_net(arch)[0], (1, 3, 224, 224))
    assert result['flops'] * 1e6 == pytest.approx(fv, abs=0.5) == mr_flops
    assert result['params'] * 1e6 == pytest.approx(numel, abs=0.5)
    assert numel == mr_params


def test_resnet_arch_without_terminal():
    arch = DerivedArch(
        family='resnet',
        stem_channels=32,
        stem_ops=[],
        act='relu',
        input_size=64,
        num_classes=7,
        last_dim=None,
        blocks=[
            DerivedBlock(32, 48, 'basic_block', [], 2),
            DerivedBlock(48, 64, 'basic_block', ['basic_block'], 2)
        ])
    result = ChainedLatencyEstimator(lut=None, metric='flops').estimate(arch)
    fv, mr_flops, mr_params, numel = counted(
        audit_net(arch)[0], (1, 3, 64, 64))
    assert result['flops'] * 1e6 == pytest.approx(fv) and fv == mr_flops
    assert result['params'] * 1e6 == pytest.approx(numel)
