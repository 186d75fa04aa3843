"""The depthwise convolution of every MBConv, with a faster CPU backward.

On CPU, oneDNN's weight gradient of a depthwise convolution with a 5x5 or
7x7 kernel is several times slower than the whole forward (it was half of a
supernet weight step on the paper's MobileNetV2 space at batch 8, 1 thread:
docs/benchmarks.md). The same gradient is one grouped convolution of the
input with the output gradient as its kernel,

    dW[c, i, j] = sum_{n,h,w} dY[n, c, h, w] * X_pad[n, c, s*h + i, s*w + j]
                = conv2d(X viewed as (1, N*C, H, W), kernel dY viewed as
                         (N*C, 1, Ho, Wo), dilation s, groups N*C)[:k, :k]
                  summed over n,

which oneDNN runs 4-25x faster for 5x5 and 7x7 kernels (per-shape
measurements: ``tools/benchmark/depthwise_grad.py``, docs/benchmarks.md;
3x3 kernels are 0-60 % slower that way, so they keep PyTorch's). :class:`DepthwiseConv2d` is an
``nn.Conv2d`` that computes its weight gradient that way when it helps: on
CPU, in fp32/fp64 without autocast, for kernels of at least
:data:`GROUPED_GRAD_MIN_KERNEL` (5x5 and 7x7, any stride). The
forward and the input gradient are PyTorch's own kernels, so the outputs are
bit-identical and the weight gradient equals PyTorch's within float rounding
(a different summation order). Everywhere else (CUDA, tracing, no grad,
autocast, 3x3 kernels) it is a plain ``nn.Conv2d``.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

#: Weight-gradient kernels of :class:`DepthwiseConv2d`: ``'auto'`` (the
#: grouped-convolution gradient where it is faster, see the module doc) or
#: ``'native'`` (always PyTorch's).
WEIGHT_GRAD_KERNELS = ('auto', 'native')
#: Kernel size from which the grouped-convolution weight gradient is faster
#: on CPU (measured per shape of the MobileNetV2 space at batch 8, strides 1
#: and 2: 5x5 and 7x7 4-25x faster, 3x3 0-60 % slower; docs/benchmarks.md).
GROUPED_GRAD_MIN_KERNEL = 5


def depthwise_weight_grad(x: Tensor, grad_out: Tensor, kernel: int,
                          stride: int, padding: int) -> Tensor:
    """Weight gradient of a depthwise convolution (channel multiplier 1,
    dilation 1, square kernel) as one grouped convolution.

    Args:
        x (Tensor): The convolution's input, ``(N, C, H, W)``.
        grad_out (Tensor): Gradient of its output, ``(N, C, Ho, Wo)``.
        kernel (int): Kernel size k.
        stride (int): Stride s.
        padding (int): Zero padding p.

    Returns:
        Tensor: ``(C, 1, k, k)``, in ``x``'s dtype.
    """
    n, c, h, w = x.shape
    ho, wo = grad_out.shape[2:]
    # The (N*C)-channel views need the NCHW layout (a copy if channels-last).
    x = x.contiguous().view(1, n * c, h, w)
    g = grad_out.contiguous().view(n * c, 1, ho, wo)
    full = F.conv2d(x, g, None, 1, padding, stride, n * c)
    return full[0, :, :kernel, :kernel].reshape(n, c, kernel,
                                                 kernel).sum(0).unsqueeze(1)


class _DepthwiseConv(torch.autograd.Function):
    """Depthwise conv whose weight gradient is :func:`depthwise_weight_grad`
    and whose input gradient is PyTorch's."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, stride: int,
                padding: int) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding)
        return F.conv2d(x, weight, None, stride, padding, 1, weight.shape[0])

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        x, weight = ctx.saved_tensors
        stride, padding = ctx.conf
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(
                grad_out, x, weight, None, [stride, stride],
                [padding, padding], [1, 1], False, [0, 0], weight.shape[0],
                [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            grad_w = depthwise_weight_grad(x, grad_out, weight.shape[-1],
                                           stride, padding)
        return grad_x, grad_w, None, None


class DepthwiseConv2d(nn.Conv2d):
    """A depthwise ``nn.Conv2d`` (groups = in = out channels, no bias) with
    the faster CPU weight gradient of the module doc.

    Same parameters, state dict and forward as ``nn.Conv2d``; the FLOPs
    counters and checkpoints see a ``Conv2d``.

    Args:
        channels (int): Input = output channels.
        kernel (int): Square kernel size.
        stride (int): Stride.
        padding (int, optional): Zero padding; defaults to ``kernel // 2``.
        weight_grad (str): One of :data:`WEIGHT_GRAD_KERNELS`.
    """

    def __init__(self,
                 channels: int,
                 kernel: int,
                 stride: int = 1,
                 padding: Optional[int] = None,
                 weight_grad: str = 'auto') -> None:
        super().__init__(
            channels,
            channels,
            kernel,
            stride,
            kernel // 2 if padding is None else padding,
            groups=channels,
            bias=False)
        self.weight_grad = weight_grad

    @property
    def weight_grad(self) -> str:
        """The weight-gradient kernel (:data:`WEIGHT_GRAD_KERNELS`)."""
        return self._weight_grad

    @weight_grad.setter
    def weight_grad(self, kind: str) -> None:
        if kind not in WEIGHT_GRAD_KERNELS:
            raise ValueError(f'weight_grad must be one of '
                             f'{WEIGHT_GRAD_KERNELS}, got {kind!r}')
        self._weight_grad = kind
        self._grouped_grad = (kind == 'auto' and
                              self.kernel_size[0] >= GROUPED_GRAD_MIN_KERNEL)

    def _uses_grouped_grad(self, x: Tensor) -> bool:
        return (self._grouped_grad and isinstance(x, Tensor)
                and x.device.type == 'cpu' and torch.is_grad_enabled()
                and self.weight.requires_grad
                and x.dtype in (torch.float32, torch.float64)
                and x.dtype == self.weight.dtype
                and not torch.jit.is_tracing()
                and not torch.is_autocast_enabled('cpu'))

    def forward(self, x: Tensor) -> Tensor:
        if self._uses_grouped_grad(x):
            return _DepthwiseConv.apply(x, self.weight, self.stride[0],
                                        self.padding[0])
        return super().forward(x)


def set_depthwise_weight_grad(module: nn.Module, kind: str) -> Tuple[int, int]:
    """Set the weight-gradient kernel of every :class:`DepthwiseConv2d` in
    ``module``.

    Args:
        module (nn.Module): A network (changed in place).
        kind (str): One of :data:`WEIGHT_GRAD_KERNELS`.

    Returns:
        tuple[int, int]: How many depthwise convolutions were set, and how
        many of them use the grouped-convolution gradient on CPU.
    """
    count = grouped = 0
    for m in module.modules():
        if isinstance(m, DepthwiseConv2d):
            m.weight_grad = kind
            count += 1
            grouped += int(m._grouped_grad)
    return count, grouped
