"""Supernet -> subnet checkpoint conversion on a real DenseNASSupernet."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.registry import DefaultScope

import densenas_mm  # noqa: F401
from densenas_mm.apis.conversion import ConversionError, convert_checkpoint
from densenas_mm.registry import MODELS
from densenas_mm.search_space import load_preset
from densenas_mm.search_space.naming import (head_alias, layer_alias,
                                             route_alias, target_name)
from densenas_mm.structures import DerivedArch, DerivedBlock
from densenas_mm.utils.checkpoint import CheckpointError, load_state_dict
from helpers import REPO_ROOT as ROOT
from helpers.tools import load_tool
DEMO_CFG = osp.join(
    ROOT, 'configs/densenas/subnets/'
    'densenas_subnet-demo_1xb32-10e_digits.py')
# (dst, src, head op, [(layer, op), ...]) along 0-1-2-4-6-terminal; block 4's
# only stacking layer is skip_connect, which derivation drops.
PATH = [(1, 0, 'mbconv_k3_t3', [(0, 'mbconv_k3_t3')]),
        (2, 1, 'mbconv_k3_t6', [(0, 'mbconv_k5_t3')]),
        (4, 2, 'mbconv_k5_t3', [(0, 'skip_connect')]),
        (6, 4, 'mbconv_k3_t6', [])]


def _scope():
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('converter_tests', scope_name='mmcls')


def classifier(backbone, num_classes=10, in_channels=128):
    _scope()
    return MODELS.build(
        dict(
            type='mmcls.ImageClassifier',
            backbone=backbone,
            neck=dict(type='mmcls.GlobalAveragePooling'),
            head=dict(
                type='mmcls.LinearClsHead',
                num_classes=num_classes,
                in_channels=in_channels)))


def derived_arch(path=PATH):
    blocks, width = [], 8
    space = load_preset('densenas_demo_32')
    for dst, src, head, layers in path:
        kept = [(i, op) for i, op in layers if op != 'skip_connect']
        c_out = space.widths[dst - 1]
        stride = 2 if dst in (2, 4) else 1
        blocks.append(
            DerivedBlock(width, c_out, head, [op for _, op in kept], stride,
                         dst, src, [i for i, _ in kept]))
        width = c_out
    return DerivedArch(
        family='mbv2',
        stem_channels=8,
        stem_ops=['mbconv_k3_t1'],
        blocks=blocks,
        last_dim=128,
        input_size=32,
        num_classes=10)


@pytest.fixture(scope='module')
def search(tmp_path_factory):
    """A search checkpoint of a real supernet with non-trivial BN stats."""
    torch.manual_seed(0)
    space = load_preset('densenas_demo_32')
    model = classifier(
        dict(
            type='densenas_mm.DenseNASSupernet', search_space=space.to_dict()))
    model.backbone.init_weights()
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith('running_mean'):
                buf.normal_(0, 0.1)
            elif name.endswith('running_var'):
                buf.uniform_(0.5, 1.5)
    state = {f'architecture.{k}': v for k, v in model.state_dict().items()}
    state['mutator.arch_params.route00'] = torch.randn(1)
    folder = tmp_path_factory.mktemp('search')
    ckpt = str(folder / 'epoch_3.pth')
    torch.save(dict(state_dict=state, meta=dict(epoch=3)), ckpt)
    arch_file = str(folder / 'arch.yaml')
    derived_arch().dump(arch_file)
    return model, ckpt, arch_file, folder


def fix_supernet_on_path(model):
    """Fix routes and ops so the supernet computes the derived net."""
    ops = model.backbone.mixed_ops()
    routes = model.backbone.routes
    for dst, src, head, layers in PATH:
        ops[head_alias(dst, src)].fix_chosen(head)
        for layer, op in layers:
            ops[layer_alias(dst, layer)].fix_chosen(op)
        routes[route_alias(src)].fix_chosen(target_name(dst))
    routes[route_alias(6)].fix_chosen(target_name(7))


def test_converted_checkpoint_loads_strictly_and_is_the_same_function(search):
    supernet, ckpt, arch_file, folder = search
    out = str(folder / 'subnet.pth')
    report = convert_checkpoint(ckpt, arch_file, out)
    saved = torch.load(out, map_location='cpu', weights_only=False)
    assert set(saved) == {'state_dict', 'meta'}
    subnet = classifier(dict(type='densenas_mm.DenseNASNet', arch=arch_file))
    result = subnet.load_state_dict(saved['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    bb = supernet.backbone
    cand = bb.blocks.b04.heads.from02._candidates.mbconv_k5_t3
    assert torch.equal(subnet.backbone.blocks[2].head.layers[1][0].weight,
                       cand.layers[1][0].weight)
    assert torch.equal(subnet.backbone.terminal[1].running_var,
                       bb.terminal.from06[1].running_var)
    assert torch.equal(subnet.head.fc.weight, supernet.head.fc.weight)
    bn = subnet.backbone.blocks[1].layers[0].layers[0][1]
    assert torch.equal(bn.weight, torch.ones(48))
    assert torch.equal(bn.bias, torch.zeros(48))
    # 134 tensors: 92 inherited (the stem's mbconv_k3_t1 has an affine
    # projection BN in the supernet too, as in the reference), 42 BN
    # weight/bias re-initialised
    assert len(report.inherited) == 92
    [bn_keys] = report.reinitialised.values()
    assert len(bn_keys) == 42 and all(
        k.endswith(('.weight', '.bias')) for k in bn_keys)
    assert saved['meta']['densenas_arch']['densenas_arch']['path'] is None
    fix_supernet_on_path(supernet)
    supernet.eval(), subnet.eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        want, got = supernet(x, mode='tensor'), subnet(x, mode='tensor')
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_config_with_other_num_classes_reinitialises_the_head(search):
    _, ckpt, arch_file, folder = search
    out = str(folder / 'subnet_100.pth')
    report = convert_checkpoint(
        ckpt, arch_file, out, config=_config_with_classes(folder, 100))
    heads = [
        k for keys in report.reinitialised.values() for k in keys
        if k.startswith('head.')
    ]
    assert sorted(heads) == ['head.fc.bias', 'head.fc.weight']
    state = torch.load(out, weights_only=False)['state_dict']
    model = classifier(
        dict(type='densenas_mm.DenseNASNet', arch=arch_file), num_classes=100)
    model.load_state_dict(state, strict=True)
    assert state['head.fc.weight'].shape == (100, 128)


def _config_with_classes(folder, classes):
    path = folder / f'cfg_{classes}.py'
    path.write_text(f"_base_ = ['{DEMO_CFG}']\n"
                    f'model = dict(head=dict(num_classes={classes}))\n')
    return str(path)


def test_truncated_and_corrupt_checkpoints_are_refused(search, tmp_path):
    _, ckpt, arch_file, _ = search
    data = open(ckpt, 'rb').read()
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        convert_checkpoint(str(cut), arch_file, str(tmp_path / 'o.pth'))
    assert not (tmp_path / 'o.pth').exists()
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(CheckpointError, match='empty'):
        load_state_dict(str(empty))
    junk = tmp_path / 'junk.pth'
    torch.save([1, 2, 3], str(junk))
    with pytest.raises(CheckpointError, match='holds no state_dict'):
        load_state_dict(str(junk))
    other = tmp_path / 'other.pth'
    torch.save(dict(state_dict=nn.Linear(2, 2).state_dict()), str(other))
    with pytest.raises(ConversionError, match='not a DenseNAS search'):
        convert_checkpoint(str(other), arch_file, str(tmp_path / 'o.pth'))


@pytest.mark.parametrize('path,match', [
    ([(1, 0, 'mbconv_k7_t6', [])] + PATH[1:], "'mbconv_k7_t6' .* not a"),
    (PATH[:1] + [(2, 1, 'mbconv_k3_t6', [(2, 'mbconv_k5_t3')])] + PATH[2:],
     'supernet layer 2 of node 2'),
    (PATH[:2] + [(6, 2, 'mbconv_k3_t6', [])], 'edge 2 -> 6'),
])
def test_archs_that_do_not_fit_the_supernet(search, tmp_path, path, match):
    _, ckpt, _, _ = search
    with pytest.raises(ConversionError, match=match):
        convert_checkpoint(ckpt, derived_arch(path), str(tmp_path / 'o.pth'))


def test_arch_without_supernet_coordinates_is_refused(search, tmp_path):
    _, ckpt, _, _ = search
    plain = DerivedArch.from_net_config(derived_arch().to_net_config())
    with pytest.raises(ConversionError, match='no supernet node/src'):
        convert_checkpoint(ckpt, plain, str(tmp_path / 'o.pth'))


def test_command_line_tool(search, capsys):
    _, ckpt, arch_file, folder = search
    tool = load_tool('model_converters/supernet_to_subnet.py')
    out = str(folder / 'cli.pth')
    assert tool.main([ckpt, arch_file, out]) == 0
    printed = capsys.readouterr().out
    assert 'inherited 92 tensors' in printed and 'bn_affine' in printed
    assert osp.isfile(out)
    assert tool.main([ckpt + '.missing', arch_file, out]) == 1
    assert 'does not exist' in capsys.readouterr().err
