"""Mixed-op and route mutables."""
import pytest
import torch
import torch.nn.functional as F

from densenas_mm.models.mutables import DenseNASMixedOp, DenseNASRoute


def test_mixed_op_modes():
    torch.manual_seed(0)
    op = DenseNASMixedOp(['mbconv_k3_t3', 'mbconv_k5_t3', 'skip_connect'],
                         8, 8, alias='b01_layer0')
    alpha = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    x = torch.randn(2, 8, 6, 6)
    outs = [op._candidates[n](x) for n in op.choices]
    op.set_active([1])
    assert torch.allclose(op(x, arch_param=alpha), outs[1])
    assert op.current_choice == 'mbconv_k5_t3'
    op.set_active([0, 2])
    w = F.softmax(alpha[[0, 2]], 0)
    assert torch.allclose(
        op(x, arch_param=alpha), w[0] * outs[0] + w[1] * outs[2], atol=1e-6)
    op.set_active(None)
    w = F.softmax(alpha, 0)
    expected = sum(w[i] * outs[i] for i in range(3))
    assert torch.allclose(op(x, arch_param=alpha), expected, atol=1e-6)
    idx, weights = op.active_weights(alpha)
    assert idx == [0, 1, 2] and torch.allclose(weights.sum(), torch.ones(()))
    with pytest.raises(IndexError, match='out of range'):
        op.set_active([3])


def test_mixed_op_fix_and_dump():
    op = DenseNASMixedOp(['mbconv_k3_t3', 'mbconv_k5_t3'], 8, 16, 2,
                         alias='b02_head_from01')
    with pytest.raises(ValueError, match='does not fit this supernet'):
        op.fix_chosen('mbconv_k7_t6')
    op.fix_chosen('mbconv_k5_t3')
    assert list(op._candidates.keys()) == ['mbconv_k5_t3']
    assert op.choices == ['mbconv_k3_t3', 'mbconv_k5_t3']
    assert op(torch.randn(1, 8, 8, 8)).shape == (1, 16, 4, 4)
    assert op.dump_chosen().chosen == 'mbconv_k5_t3'


def test_route_probs_temperature_and_fix():
    route = DenseNASRoute(['to02', 'to03', 'to04'], alias='route01',
                          temperature=0.5)
    beta = torch.tensor([0.1, 0.2, -0.3])
    assert torch.allclose(route(None, arch_param=beta),
                          F.softmax(beta / 0.5, 0))
    assert torch.allclose(route(), torch.full((3, ), 1 / 3))
    route.fix_chosen('to03')
    assert route.active_targets() == [1]
    assert route().tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match='temperature must be > 0'):
        DenseNASRoute(['to01'], temperature=0)
