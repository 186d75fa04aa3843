"""The modules of DenseNAS ops, and the one builder of every op name.

:func:`build_op` turns any name of :mod:`.grammar` (layer ops, the
``stem+...`` compound, the ``classifier``) into its module; the supernet, the
derived ``DenseNASNet``, the latency-table modules and the FLOPs counting all
build their ops through it. The op classes are registered in the model
registry so that configs and tools can refer to them by type.
"""
import math
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from densenas_mm.registry import MODELS
from .depthwise import DepthwiseConv2d
from .grammar import parse_part

BN_EPS = 1e-3
BN_MOMENTUM = 0.1
#: BN eps of each space family, as the reference code sets it: MobileNetV2
#: nets call ``set_bn_param(0.1, 1e-3)``; its ResNet nets never set it and
#: keep PyTorch's default 1e-5.
BN_EPS_OF_FAMILY = dict(mbv2=1e-3, resnet=1e-5)


def make_act(act: str) -> nn.Module:
    """Build the activation named ``'relu'`` or ``'relu6'``."""
    if act == 'relu6':
        return nn.ReLU6(inplace=True)
    if act == 'relu':
        return nn.ReLU(inplace=True)
    raise ValueError(f"unknown activation {act!r}; use 'relu' or 'relu6'")


def make_bn(channels: int, affine: bool) -> nn.BatchNorm2d:
    """BatchNorm with the reference settings (eps 1e-3, momentum 0.1)."""
    return nn.BatchNorm2d(
        channels, eps=BN_EPS, momentum=BN_MOMENTUM, affine=affine)


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) + BN + optional activation, 'same' padding.

    A depthwise convolution (``groups == c_in == c_out > 1``) is a
    :class:`~.depthwise.DepthwiseConv2d` (an ``nn.Conv2d`` with a faster CPU
    weight gradient).

    Args:
        c_in (int): Input channels.
        c_out (int): Output channels.
        kernel (int): Kernel size.
        stride (int): Stride.
        groups (int): Convolution groups.
        affine (bool): Affine BN.
        act (str, optional): ``'relu'``, ``'relu6'`` or None for no act.
    """

    def __init__(self,
                 c_in: int,
                 c_out: int,
                 kernel: int = 1,
                 stride: int = 1,
                 groups: int = 1,
                 affine: bool = True,
                 act: Optional[str] = 'relu6') -> None:
        if groups > 1 and groups == c_in == c_out:
            conv: nn.Conv2d = DepthwiseConv2d(c_in, kernel, stride)
        else:
            conv = nn.Conv2d(
                c_in,
                c_out,
                kernel,
                stride,
                kernel // 2,
                groups=groups,
                bias=False)
        layers = [conv, make_bn(c_out, affine)]
        if act is not None:
            layers.append(make_act(act))
        super().__init__(*layers)


@MODELS.register_module()
class MBConv(nn.Module):
    """MobileNetV2 inverted residual: 1x1 expand, kxk depthwise, 1x1 project.

    No expansion conv when ``expansion == 1``; residual whenever the output
    shape equals the input shape; no SE, ReLU6 activations. With
    ``expansion == 1`` the projection BN is affine even when ``affine`` is
    False, as in the reference (its t=1 MBConv builds that BN with PyTorch's
    defaults; in the supernet this is the fixed ``mbconv_k3_t1`` after the
    MobileNetV2 stem).

    Args:
        c_in (int): Input channels.
        c_out (int): Output channels.
        stride (int): Depthwise stride (1 or 2).
        kernel (int): Depthwise kernel size.
        expansion (int): Expansion ratio t.
        affine (bool): Affine BN (False inside the supernet).
    """

    def __init__(self,
                 c_in: int,
                 c_out: int,
                 stride: int = 1,
                 kernel: int = 3,
                 expansion: int = 6,
                 affine: bool = True) -> None:
        super().__init__()
        mid = c_in * expansion
        layers = []
        if expansion != 1:
            layers.append(ConvBNAct(c_in, mid, 1, affine=affine))
        layers.append(
            ConvBNAct(mid, mid, kernel, stride, groups=mid, affine=affine))
        project_affine = affine or expansion == 1
        layers.append(
            ConvBNAct(mid, c_out, 1, affine=project_affine, act=None))
        self.layers = nn.Sequential(*layers)
        self.use_residual = stride == 1 and c_in == c_out

    def forward(self, x: Tensor) -> Tensor:
        out = self.layers(x)
        return out + x if self.use_residual else out


@MODELS.register_module()
class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convs, stride on the first.

    The shortcut is a 1x1 conv + BN when the stride is not 1 or the widths
    differ, identity otherwise.

    Args:
        c_in (int): Input channels.
        c_out (int): Output channels.
        stride (int): Stride of the first conv.
        affine (bool): Affine BN.
    """

    def __init__(self,
                 c_in: int,
                 c_out: int,
                 stride: int = 1,
                 affine: bool = True) -> None:
        super().__init__()
        self.conv1 = ConvBNAct(c_in, c_out, 3, stride, affine=affine,
                               act='relu')
        self.conv2 = ConvBNAct(c_out, c_out, 3, affine=affine, act=None)
        self.shortcut = (
            ConvBNAct(c_in, c_out, 1, stride, affine=affine, act=None)
            if stride != 1 or c_in != c_out else nn.Identity())
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.conv2(self.conv1(x)) + self.shortcut(x))


@MODELS.register_module()
class Bottleneck(nn.Module):
    """ResNet bottleneck block: 1x1 reduce, 3x3 (stride), 1x1 expand.

    The inner width is ``c_out // 4`` (torchvision's expansion of 4).

    Args:
        c_in (int): Input channels.
        c_out (int): Output channels.
        stride (int): Stride of the 3x3 conv.
        affine (bool): Affine BN.
    """

    def __init__(self,
                 c_in: int,
                 c_out: int,
                 stride: int = 1,
                 affine: bool = True) -> None:
        super().__init__()
        mid = max(c_out // 4, 1)
        self.conv1 = ConvBNAct(c_in, mid, 1, affine=affine, act='relu')
        self.conv2 = ConvBNAct(mid, mid, 3, stride, affine=affine, act='relu')
        self.conv3 = ConvBNAct(mid, c_out, 1, affine=affine, act=None)
        self.shortcut = (
            ConvBNAct(c_in, c_out, 1, stride, affine=affine, act=None)
            if stride != 1 or c_in != c_out else nn.Identity())
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(
            self.conv3(self.conv2(self.conv1(x))) + self.shortcut(x))


@MODELS.register_module()
class SkipConnect(nn.Identity):
    """The skip candidate of stacking layers (C -> C, stride 1)."""


class Classifier(nn.Module):
    """Global average pooling + linear layer (the ``classifier`` op)."""

    def __init__(self, c_in: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(torch.flatten(self.pool(x), 1))


def build_op(name: str,
             c_in: int,
             c_out: int,
             stride: int = 1,
             affine: bool = True,
             act: str = 'relu6') -> nn.Module:
    """Build the op called ``name`` mapping ``c_in`` to ``c_out``.

    Args:
        name (str): Any op name of :mod:`.grammar` (layer op, ``stem+...``
            or ``classifier``; for the classifier ``c_out`` is the number of
            classes).
        c_in (int): Input channels.
        c_out (int): Output channels.
        stride (int): Stride (1 or 2).
        affine (bool): Affine BN (False in the supernet).
        act (str): Activation of ``conv1_1`` and of the stem conv (the
            others fix their own).

    Returns:
        nn.Module: The op.
    """
    spec = parse_part(name)
    if spec.kind == 'mbconv':
        return MBConv(c_in, c_out, stride, spec.kernel, spec.expansion, affine)
    if spec.kind == 'basic':
        return BasicBlock(c_in, c_out, stride, affine)
    if spec.kind == 'bottleneck':
        return Bottleneck(c_in, c_out, stride, affine)
    if spec.kind == 'conv1x1':
        return ConvBNAct(c_in, c_out, 1, stride, affine=affine, act=act)
    if spec.kind == 'stem':
        return nn.Sequential(
            ConvBNAct(c_in, c_out, 3, stride, affine=affine, act=act), *[
                build_op(op, c_out, c_out, 1, affine=affine, act=act)
                for op in spec.sub_ops
            ])
    if spec.kind == 'classifier':
        return Classifier(c_in, c_out)
    if c_in != c_out or stride != 1:
        raise ValueError(
            f'skip_connect needs equal widths and stride 1, got '
            f'{c_in}->{c_out} stride {stride}; skip is a stacking-layer op '
            'only, never a head op')
    return SkipConnect()


def set_bn_eps(module: nn.Module, family: str) -> None:
    """Give every BN of ``module`` the eps of ``family``
    (:data:`BN_EPS_OF_FAMILY`: 1e-3 MobileNetV2, 1e-5 ResNet).

    Args:
        module (nn.Module): The network, changed in place.
        family (str): ``'mbv2'`` or ``'resnet'``.
    """
    if family not in BN_EPS_OF_FAMILY:
        raise ValueError(f'unknown space family {family!r}; families are '
                         f'{tuple(BN_EPS_OF_FAMILY)}')
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eps = BN_EPS_OF_FAMILY[family]


def init_weights(module: nn.Module, family: str) -> None:
    """Initialise weights the way the reference code does.

    MobileNetV2 nets: normal with std sqrt(2 / (k*k*C_out/groups)); ResNet
    nets: kaiming normal, fan-out. Linear: normal(0, 0.01), bias 0. Affine BN:
    weight 1, bias 0.

    Args:
        module (nn.Module): The network to initialise in place.
        family (str): ``'mbv2'`` or ``'resnet'``.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            if family == 'resnet':
                nn.init.kaiming_normal_(
                    m.weight, mode='fan_out', nonlinearity='relu')
            else:
                fan_out = (m.kernel_size[0] * m.kernel_size[1] *
                           m.out_channels / m.groups)
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
