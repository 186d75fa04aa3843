"""The standalone network of a derived DenseNAS architecture.

:class:`DenseNASNet` turns a :class:`~densenas_mm.structures.DerivedArch`
(a YAML file written by the search, a dict, the object itself, or a
reference ``net_config`` string) into a plain backbone for an mmcls
``ImageClassifier``: affine BN, the reference weight init, no routing and no
mixed ops. Its module names are a contract with the supernet -> subnet
converter (:mod:`densenas_mm.models.converters`)::

    stem       nn.Sequential: [0] ConvBNAct 3x3 stem conv, then the stem ops
    blocks     nn.ModuleList of DenseNASBlock(head, layers=nn.ModuleList)
    terminal   ConvBNAct 1x1 to last_dim (MobileNetV2 nets), absent otherwise
"""
from functools import partial
from typing import Any, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmcls.models.backbones.base_backbone import BaseBackbone
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from densenas_mm.registry import MODELS
from densenas_mm.search_space.grammar import TERMINAL, stem_op_name
from densenas_mm.search_space.ops import build_op, init_weights, set_bn_eps
from densenas_mm.structures.derived_arch import ArchError, DerivedArch

ArchLike = Union[str, dict, DerivedArch]


class DenseNASBlock(nn.Module):
    """One routing block: a head layer and its stacking layers.

    Args:
        head (nn.Module): The head op (c_in -> c_out, stride).
        layers (list[nn.Module]): Stacking ops (c_out -> c_out, stride 1).
    """

    def __init__(self, head: nn.Module, layers: Sequence[nn.Module]) -> None:
        super().__init__()
        self.head = head
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.head(x)
        for layer in self.layers:
            x = layer(x)
        return x


@MODELS.register_module()
class DenseNASNet(BaseBackbone):
    """Backbone built from a derived DenseNAS architecture.

    Affine BN with the reference's eps (1e-3 MobileNetV2 nets, 1e-5 ResNet
    nets), the reference weight init.

    Outputs are numbered like the features of the net: index ``i`` in
    ``[0, len(blocks))`` is the output of block ``i``; index
    ``len(blocks)`` is the terminal 1x1 conv output (MobileNetV2 nets only).
    Negative indices count from the end, so ``(-1, )`` (the default) is the
    feature map the classifier consumes.

    Args:
        arch (str | dict | DerivedArch): Architecture YAML path, its dict,
            the object, or a reference ``net_config`` string.
        in_channels (int, optional): Image channels; defaults to the
            architecture's ``in_channels``.
        out_indices (Sequence[int]): Which features to return.
            Defaults to ``(-1, )``.
        frozen_stages (int): ``-1`` freezes nothing; ``k >= 0`` freezes the
            stem and the first ``k`` blocks (params and BN statistics).
        norm_eval (bool): Keep every BN in eval mode while training.
        init_cfg (dict | list[dict], optional): mmengine init config (e.g.
            ``Pretrained``); without it the reference init is used.

    Example:
        >>> model = dict(
        ...     type='ImageClassifier',
        ...     backbone=dict(type='densenas_mm.DenseNASNet',
        ...                   arch='work_dirs/search/arch_final.yaml'),
        ...     neck=dict(type='GlobalAveragePooling'),
        ...     head=dict(type='LinearClsHead', num_classes=1000,
        ...               in_channels=1984))
    """

    def __init__(self,
                 arch: ArchLike,
                 in_channels: Optional[int] = None,
                 out_indices: Sequence[int] = (-1, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Optional[Any] = None) -> None:
        super().__init__(init_cfg)
        self.arch = self._load_arch(arch)
        arch = self.arch
        in_channels = arch.in_channels if in_channels is None else in_channels
        self.in_channels = int(in_channels)
        op = partial(build_op, affine=True, act=arch.act)
        self.stem = op(
            stem_op_name(arch.stem_ops), self.in_channels, arch.stem_channels,
            arch.stem_stride)
        self.blocks = nn.ModuleList(
            DenseNASBlock(
                op(blk.head_op, blk.c_in, blk.c_out, blk.stride),
                [op(name, blk.c_out, blk.c_out, 1) for name in blk.stack_ops])
            for blk in arch.blocks)
        self.terminal = None
        if arch.last_dim is not None:
            self.terminal = op(TERMINAL, arch.blocks[-1].c_out,
                               arch.last_dim, 1)
        self.num_outputs = len(self.blocks) + (self.terminal is not None)
        self.out_indices = self._check_out_indices(out_indices)
        valid_frozen = range(-1, len(self.blocks) + 1)
        if not isinstance(frozen_stages, int) or (frozen_stages
                                                  not in valid_frozen):
            raise ValueError(f'frozen_stages must be an int in [-1, '
                             f'{len(self.blocks)}], got {frozen_stages!r}')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        set_bn_eps(self, arch.family)
        init_weights(self, arch.family)
        self._freeze_stages()

    # ------------------------------------------------------------ building
    @staticmethod
    def _load_arch(arch: ArchLike) -> DerivedArch:
        if not isinstance(arch, (str, dict, DerivedArch)):
            raise TypeError('arch must be a YAML path, a dict, a DerivedArch '
                            f'or a net_config string, got '
                            f'{type(arch).__name__}')
        try:
            return DerivedArch.load(arch)
        except ArchError as err:
            raise ArchError(f'DenseNASNet: invalid architecture: {err}') \
                from None

    def _check_out_indices(self, out_indices: Sequence[int]) -> Tuple[int]:
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        resolved: List[int] = []
        for idx in out_indices:
            pos = idx + self.num_outputs if idx < 0 else idx
            if not isinstance(idx, int) or not 0 <= pos < self.num_outputs:
                raise ValueError(
                    f'out_indices entry {idx!r} is out of range: this net has '
                    f'{self.num_outputs} outputs ({len(self.blocks)} blocks' +
                    (' + terminal' if self.terminal is not None else '') +
                    f'), valid indices are -{self.num_outputs}..'
                    f'{self.num_outputs - 1}')
            resolved.append(pos)
        if not resolved:
            raise ValueError('out_indices must not be empty')
        return tuple(sorted(set(resolved)))

    @property
    def out_channels(self) -> int:
        """Channels of the last feature map (what the head must accept)."""
        return self.arch.out_channels

    @property
    def out_channels_per_index(self) -> Tuple[int, ...]:
        """Channels of each output in :attr:`out_indices`."""
        widths = [b.c_out for b in self.arch.blocks]
        if self.terminal is not None:
            widths.append(self.arch.last_dim)
        return tuple(widths[i] for i in self.out_indices)

    def init_weights(self) -> None:
        """Reference init, or the ``init_cfg`` (e.g. a pretrained file)."""
        if self.init_cfg is not None:
            super().init_weights()
        else:
            init_weights(self, self.arch.family)
            self._is_init = True

    # ------------------------------------------------------------- running
    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Return the features at :attr:`out_indices` as a tuple."""
        x = self.stem(x)
        outs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.out_indices:
                outs.append(x)
        if self.terminal is not None:
            x = self.terminal(x)
            if len(self.blocks) in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = [self.stem] + list(self.blocks[:self.frozen_stages])
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'DenseNASNet':
        """Switch mode, keeping frozen stages and (optionally) BN in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
