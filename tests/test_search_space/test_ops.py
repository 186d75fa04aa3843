"""Candidate ops: names, shapes, residuals, parameter counts."""
import pytest
import torch

from densenas_mm.registry import MODELS
from densenas_mm.search_space import build_op, parse_op


def _params(module):
    return sum(p.numel() for p in module.parameters())


def test_parse_op_names():
    spec = parse_op('mbconv_k5_t6')
    assert (spec.kind, spec.kernel, spec.expansion, spec.family) == (
        'mbconv', 5, 6, 'mbv2')
    assert parse_op('basic_block').family == 'resnet'
    assert parse_op('skip_connect').kind == 'skip'
    for bad in ('mbconv_k4_t6', 'conv3x3', 'mbconv_k3'):
        with pytest.raises(ValueError, match='unknown op'):
            parse_op(bad)


def test_mbconv_shapes_params_and_residual():
    op = build_op('mbconv_k3_t6', 16, 16, 1, affine=True)
    x = torch.randn(2, 16, 8, 8)
    assert op(x).shape == (2, 16, 8, 8)
    assert op.use_residual
    # expand 16*96 + bn 2*96, dw 96*9 + bn 2*96, project 96*16 + bn 2*16
    assert _params(op) == 16 * 96 + 192 + 96 * 9 + 192 + 96 * 16 + 32
    down = build_op('mbconv_k5_t3', 16, 24, 2, affine=False)
    assert down(x).shape == (2, 24, 4, 4) and not down.use_residual
    # affine=False: only conv weights carry parameters
    assert _params(down) == 16 * 48 + 48 * 25 + 48 * 24


def test_mbconv_t1_has_no_expansion():
    op = build_op('mbconv_k3_t1', 16, 16, 1, affine=False)
    # depthwise 3x3 + 1x1 projection; the projection BN is affine even in
    # the supernet, as in the reference (weight + bias: 2 x 16)
    assert _params(op) == 16 * 9 + 16 * 16 + 2 * 16
    dw_bn, proj_bn = op.layers[0][1], op.layers[1][1]
    assert not dw_bn.affine and proj_bn.affine
    assert build_op('mbconv_k3_t3', 16, 16, 1,
                    affine=False).layers[2][1].affine is False


def test_resnet_blocks():
    x = torch.randn(2, 32, 8, 8)
    basic = build_op('basic_block', 32, 48, 2)
    assert basic(x).shape == (2, 48, 4, 4)
    assert not isinstance(basic.shortcut, torch.nn.Identity)
    same = build_op('basic_block', 32, 32, 1, affine=False)
    assert isinstance(same.shortcut, torch.nn.Identity)
    assert _params(same) == 2 * 32 * 32 * 9
    bottle = build_op('bottleneck', 32, 64, 1)
    assert bottle(x).shape == (2, 64, 8, 8)


def test_skip_rules():
    x = torch.randn(1, 8, 4, 4)
    assert torch.equal(build_op('skip_connect', 8, 8)(x), x)
    with pytest.raises(ValueError, match='skip_connect needs equal widths'):
        build_op('skip_connect', 8, 16)


def test_ops_registered():
    op = MODELS.build(
        dict(type='densenas_mm.MBConv', c_in=8, c_out=8, kernel=7,
             expansion=3))
    assert op.layers[1][0].kernel_size == (7, 7)
