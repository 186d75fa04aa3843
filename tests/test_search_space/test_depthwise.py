"""DepthwiseConv2d: PyTorch's results, with the grouped-conv weight grad."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from densenas_mm.search_space import (DepthwiseConv2d, build_op,
                                      set_depthwise_weight_grad)
from densenas_mm.search_space.depthwise import depthwise_weight_grad


def _grads(conv: nn.Conv2d, x: torch.Tensor, grad_out: torch.Tensor,
           functional: bool = False):
    """Output, input gradient and weight gradient of one call."""
    x = x.detach().clone().requires_grad_()
    conv.weight.grad = None
    if functional:  # PyTorch's own convolution, the expected values
        y = F.conv2d(x, conv.weight, None, conv.stride, conv.padding, 1,
                     conv.groups)
    else:
        y = conv(x)
    y.backward(grad_out)
    return y.detach(), x.grad, conv.weight.grad.clone()


SHAPES = [  # channels, size, kernel, stride
    (6, 8, 5, 1), (5, 9, 5, 1), (4, 9, 7, 1), (4, 10, 7, 2), (3, 7, 7, 2),
    (4, 8, 3, 1), (4, 8, 5, 2)
]


@pytest.mark.parametrize('channels,size,kernel,stride', SHAPES)
@pytest.mark.parametrize('channels_last', [False, True])
def test_gradients_equal_pytorch(channels, size, kernel, stride,
                                 channels_last):
    torch.manual_seed(0)
    conv = DepthwiseConv2d(channels, kernel, stride).double()
    x = torch.randn(3, channels, size, size, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out = conv(x)
    # the grouped-convolution gradient runs for 5x5 and 7x7 kernels
    grouped = kernel >= 5
    assert (type(out.grad_fn).__name__ == '_DepthwiseConvBackward') is \
        grouped
    grad_out = torch.randn_like(out)
    y, gx, gw = _grads(conv, x, grad_out)
    y0, gx0, gw0 = _grads(conv, x, grad_out, functional=True)
    assert torch.equal(y, y0)  # PyTorch's forward
    assert torch.equal(gx, gx0)  # PyTorch's input gradient
    assert gw.shape == (channels, 1, kernel, kernel)
    assert torch.allclose(gw, gw0, rtol=1e-12, atol=1e-12)
    # float32: equal within rounding of a different summation order
    conv32 = conv.float()
    _, gx, gw = _grads(conv32, x.float(), grad_out.float())
    _, gx0, gw0 = _grads(conv32, x.float(), grad_out.float(), True)
    assert torch.equal(gx, gx0)
    assert float((gw - gw0).abs().max()) <= 1e-5 * float(gw0.abs().max())


def test_weight_grad_formula_against_a_direct_sum():
    """dW[c, i, j] = sum_{n,h,w} dY[n,c,h,w] X_pad[n,c,s*h+i,s*w+j]."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 7, 7, generator=g, dtype=torch.float64)
    k, s, p = 5, 2, 2
    dy = torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64)
    xp = F.pad(x, (p, p, p, p))
    direct = torch.zeros(3, 1, k, k, dtype=torch.float64)
    for i in range(k):
        for j in range(k):
            patch = xp[:, :, i:i + s * 4:s, j:j + s * 4:s]
            direct[:, 0, i, j] = (patch * dy).sum((0, 2, 3))
    assert torch.allclose(
        depthwise_weight_grad(x, dy, k, s, p), direct, atol=1e-12)


@pytest.mark.parametrize('kernel,stride,grouped', [(3, 1, False),
                                                   (3, 2, False),
                                                   (5, 1, True),
                                                   (5, 2, True),
                                                   (7, 1, True),
                                                   (7, 2, True)])
def test_which_kernels_use_the_grouped_gradient(kernel, stride, grouped):
    conv = DepthwiseConv2d(4, kernel, stride)
    assert conv._grouped_grad is grouped
    x = torch.randn(2, 4, 8, 8)
    assert conv._uses_grouped_grad(x) is grouped
    conv.weight_grad = 'native'
    assert conv._uses_grouped_grad(x) is False


def test_plain_conv2d_where_the_grouped_gradient_does_not_apply():
    conv = DepthwiseConv2d(4, 7, 1)
    x = torch.randn(2, 4, 8, 8)
    assert conv._uses_grouped_grad(x)
    with torch.no_grad():
        assert not conv._uses_grouped_grad(x)
    conv.weight.requires_grad_(False)
    assert not conv._uses_grouped_grad(x)
    conv.weight.requires_grad_(True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert not conv._uses_grouped_grad(x)
        assert conv(x).dtype == torch.bfloat16
    assert not conv._uses_grouped_grad(x.half())
    # tracing records an aten convolution (FLOP counters, export)
    traced = torch.jit.trace(conv, x)
    assert 'aten::_convolution' in str(traced.graph)


def test_bad_weight_grad_is_refused():
    with pytest.raises(ValueError, match="weight_grad must be one of"):
        DepthwiseConv2d(4, 5, weight_grad='fast')


def test_mbconv_uses_it_with_the_state_dict_of_a_conv2d():
    op = build_op('mbconv_k7_t3', 8, 16, 2, affine=False)
    dw = op.layers[1][0]
    assert type(dw) is DepthwiseConv2d and isinstance(dw, nn.Conv2d)
    assert dw.groups == dw.in_channels == dw.out_channels == 24
    assert dw.kernel_size == (7, 7) and dw.stride == (2, 2)
    assert dw.padding == (3, 3) and dw.bias is None
    assert 'layers.1.0.weight' in op.state_dict()
    # the 1x1 convs stay plain convolutions
    assert type(op.layers[0][0]) is nn.Conv2d
    assert set_depthwise_weight_grad(op, 'native') == (1, 0)
    assert dw.weight_grad == 'native'
    assert set_depthwise_weight_grad(op, 'auto') == (1, 1)
