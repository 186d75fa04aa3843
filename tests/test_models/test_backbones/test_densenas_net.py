"""DenseNASNet: the standalone backbone of a derived architecture."""
import math

import pytest
import torch
import torch.nn as nn
from mmengine.registry import DefaultScope

import densenas_mm  # noqa: F401
from densenas_mm.models.backbones.densenas_net import (DenseNASBlock,
                                                       DenseNASNet)
from densenas_mm.registry import MODELS
from densenas_mm.search_space.ops import BN_EPS, ConvBNAct, MBConv
from densenas_mm.structures import ArchError, DerivedArch, DerivedBlock

from densenas_mm.structures.published import DENSENAS_C


def demo_arch() -> DerivedArch:
    """Path 0-1-2-4-6-terminal through configs/.../densenas_demo_32.py."""
    return DerivedArch(
        family='mbv2',
        stem_channels=8,
        stem_ops=['mbconv_k3_t1'],
        blocks=[
            DerivedBlock(8, 12, 'mbconv_k3_t3', ['mbconv_k3_t3'], 1, 1, 0,
                         [0]),
            DerivedBlock(12, 16, 'mbconv_k3_t6', ['mbconv_k5_t3'], 2, 2, 1,
                         [0]),
            DerivedBlock(16, 32, 'mbconv_k5_t3', [], 2, 4, 2, []),
            DerivedBlock(32, 64, 'mbconv_k3_t6', [], 1, 6, 4, []),
        ],
        last_dim=128,
        input_size=32,
        num_classes=10,
        path=[0, 1, 2, 4, 6, 7])


def resnet_arch() -> DerivedArch:
    """A small ResNet-type net (widths of the paper's ResNet space)."""
    return DerivedArch(
        family='resnet',
        stem_channels=32,
        stem_ops=[],
        act='relu',
        blocks=[
            DerivedBlock(32, 48, 'basic_block', [], 2),
            DerivedBlock(48, 72, 'basic_block', ['basic_block'], 2),
            DerivedBlock(72, 128, 'basic_block', [], 2),
            DerivedBlock(128, 240, 'basic_block', ['basic_block'], 2),
        ])


def classifier(arch, num_classes=10, in_channels=None, **backbone):
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('densenas_net_tests', scope_name='mmcls')
    return MODELS.build(
        dict(
            type='mmcls.ImageClassifier',
            backbone=dict(
                type='densenas_mm.DenseNASNet', arch=arch, **backbone),
            neck=dict(type='mmcls.GlobalAveragePooling'),
            head=dict(
                type='mmcls.LinearClsHead',
                num_classes=num_classes,
                in_channels=in_channels
                or DerivedArch.load(arch).out_channels)))


def test_module_names_follow_the_converter_contract():
    net = DenseNASNet(demo_arch())
    assert isinstance(net.stem, nn.Sequential) and len(net.stem) == 2
    assert isinstance(net.stem[0], ConvBNAct)
    assert net.stem[0][0].stride == (2, 2)
    assert isinstance(net.stem[1], MBConv) and net.stem[1].use_residual
    assert isinstance(net.blocks, nn.ModuleList) and len(net.blocks) == 4
    assert all(isinstance(b, DenseNASBlock) for b in net.blocks)
    assert [len(b.layers) for b in net.blocks] == [1, 1, 0, 0]
    assert isinstance(net.terminal, ConvBNAct)
    keys = set(net.state_dict())
    assert 'blocks.2.head.layers.1.0.weight' in keys
    assert 'blocks.0.layers.0.layers.0.0.weight' in keys
    assert 'terminal.0.weight' in keys and 'stem.0.1.running_var' in keys


def test_every_arch_form_builds_the_same_net(tmp_path):
    arch = demo_arch()
    path = tmp_path / 'arch.yaml'
    arch.dump(str(path))
    forms = [arch, arch.to_dict(), str(path), arch.to_net_config()]
    torch.manual_seed(0)
    shapes = [{
        k: v.shape
        for k, v in DenseNASNet(a).state_dict().items()
    } for a in forms]
    assert all(s == shapes[0] for s in shapes[1:])


def test_affine_bn_and_reference_init():
    net = DenseNASNet(demo_arch())
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(m.affine and m.eps == BN_EPS for m in bns)
    assert all(
        torch.equal(m.weight, torch.ones_like(m.weight))
        and torch.equal(m.bias, torch.zeros_like(m.bias)) for m in bns)
    torch.manual_seed(0)
    conv = DenseNASNet(DENSENAS_C).terminal[0]  # 1x1, 384 -> 1984
    assert conv.weight.std().item() == pytest.approx(
        math.sqrt(2.0 / 1984), rel=0.02)


def test_densenas_c_matches_published_size():
    model = classifier(DENSENAS_C, num_classes=1000)
    params = sum(p.numel() for p in model.parameters())
    assert params == 6_134_144
    assert params == pytest.approx(6.13e6, rel=0.005)
    feats = model.backbone(torch.zeros(1, 3, 224, 224))
    assert len(feats) == 1 and feats[0].shape == (1, 1984, 7, 7)
    # the MAC count itself is checked in tests/test_tools/


@pytest.mark.parametrize('size,classes', [(32, 10), (64, 7), (97, 3)])
def test_any_input_size_and_number_of_classes(size, classes):
    model = classifier(demo_arch(), num_classes=classes).eval()
    logits = model(torch.randn(2, 3, size, size), mode='tensor')
    assert logits.shape == (2, classes) and torch.isfinite(logits).all()


def test_resnet_type_net_has_no_terminal_and_trains():
    model = classifier(resnet_arch(), num_classes=5)
    assert model.backbone.terminal is None
    assert model.backbone.out_channels == 240
    assert model.backbone.stem[0][2].__class__ is nn.ReLU
    # the reference's ResNet nets keep PyTorch's BN eps
    assert {m.eps for m in model.backbone.modules()
            if isinstance(m, nn.BatchNorm2d)} == {1e-5}
    x = torch.randn(2, 3, 64, 64)
    loss = model.head.loss(model.extract_feat(x),
                           [_sample(1), _sample(3)])['loss']
    loss.backward()
    grad = model.backbone.blocks[0].head.conv1[0].weight.grad
    assert grad is not None and grad.abs().sum() > 0


def _sample(label):
    from mmcls.structures import ClsDataSample
    return ClsDataSample().set_gt_label(label)


def test_out_indices_and_channels():
    net = DenseNASNet(demo_arch(), out_indices=(1, 3, -1)).eval()
    outs = net(torch.randn(1, 3, 32, 32))
    assert [o.shape[1] for o in outs] == [16, 64, 128]
    assert net.out_channels_per_index == (16, 64, 128)
    assert [o.shape[-1] for o in outs] == [8, 4, 4]
    with pytest.raises(ValueError, match='out of range.*5 outputs'):
        DenseNASNet(demo_arch(), out_indices=(5, ))


def test_frozen_stages_and_norm_eval():
    net = DenseNASNet(demo_arch(), frozen_stages=2, norm_eval=True)
    net.train()
    frozen = list(net.stem.parameters()) + list(net.blocks[1].parameters())
    assert not any(p.requires_grad for p in frozen)
    assert all(p.requires_grad for p in net.blocks[2].parameters())
    assert not any(m.training
                   for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    with pytest.raises(ValueError, match='frozen_stages'):
        DenseNASNet(demo_arch(), frozen_stages=9)


@pytest.mark.parametrize('text,match', [
    (DENSENAS_C.replace('[[24, 48]', '[[32, 48]'), 'widths do not chain'),
    (DENSENAS_C.replace('mbconv_k7_t6', 'sep_conv_k7'), 'unknown op'),
    (DENSENAS_C.replace("|[[384, 1984], 'conv1_1']", ''), 'terminal'),
])
def test_inconsistent_arch_fails_at_build(text, match):
    with pytest.raises(ArchError, match=match):
        classifier(text, num_classes=1000, in_channels=1984)


def test_bad_arch_types_are_explained(tmp_path):
    with pytest.raises(TypeError, match='YAML path, a dict'):
        DenseNASNet(42)
    with pytest.raises(ArchError, match='does not exist'):
        DenseNASNet(str(tmp_path / 'missing.yaml'))
    mixed = demo_arch().to_dict()
    mixed['densenas_arch']['blocks'][0]['head_op'] = 'basic_block'
    with pytest.raises(ArchError, match='does not belong to a mbv2 net'):
        DenseNASNet(mixed)


def test_stage_outputs_with_strides_and_channels():
    net = DenseNASNet(demo_arch(), out_type='stages',
                      out_indices=(0, 1, 2)).eval()
    # blocks 12@s2, 16@s4, 32@s8, 64@s8: the last block of each resolution
    assert net.stage_strides == (2, 4, 8)
    assert net.stage_channels == (12, 16, 64)
    assert net.out_strides == (2, 4, 8)
    assert net.out_channels_per_index == (12, 16, 64)
    x = torch.randn(2, 3, 32, 32)
    outs = net(x)
    assert [tuple(o.shape[1:]) for o in outs] == [(12, 16, 16), (16, 8, 8),
                                                  (64, 4, 4)]
    # the same tensors as the block outputs 0, 1 and 3
    blocks = DenseNASNet(demo_arch(), out_indices=(0, 1, 3))
    blocks.load_state_dict(net.state_dict())
    for a, b in zip(outs, blocks.eval()(x)):
        assert torch.equal(a, b)
    # the last index is the terminal conv, as in block mode
    net = DenseNASNet(demo_arch(), out_type='stages', out_indices=(-1, ))
    assert net.out_channels_per_index == (128, ) and net.out_strides == (8, )
    with pytest.raises(ValueError, match=r'4 outputs \(3 stages \+ '):
        DenseNASNet(demo_arch(), out_type='stages', out_indices=(4, ))
    with pytest.raises(ValueError, match='out_type must be one of'):
        DenseNASNet(demo_arch(), out_type='stage')


def test_stage_outputs_of_published_and_resnet_nets():
    """DenseNAS-C at 224: the strides an mmdet neck expects."""
    net = DenseNASNet(DENSENAS_C, out_type='stages',
                      out_indices=(0, 1, 2, 3))
    # blocks 24@4, 48@8, 72@16, 128@16, 160@32, 176@32, 384@32
    assert net.stage_strides == (4, 8, 16, 32)
    assert net.stage_channels == (24, 48, 128, 384)
    outs = net.eval()(torch.randn(1, 3, 224, 224))
    assert [o.shape[1] for o in outs] == list(net.stage_channels)
    assert [224 // o.shape[-1] for o in outs] == list(net.stage_strides)
    res = DenseNASNet(resnet_arch(), out_type='stages',
                      out_indices=(0, 1, 2, 3))
    assert res.terminal is None and res.num_outputs == 4
    assert res.stage_strides == (4, 8, 16, 32)
    outs = res.eval()(torch.randn(1, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]
