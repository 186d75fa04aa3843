"""The standalone network of a derived DenseNAS architecture.

:class:`DenseNASNet` turns a :class:`~densenas_mm.structures.DerivedArch`
(a YAML file written by the search, a dict, the object itself, or a
reference ``net_config`` string) into a plain backbone for an mmcls
``ImageClassifier``: affine BN, the reference weight init, no routing and no
mixed ops. Its module names are a contract with the supernet, defined in
:mod:`.state_keys` and used by the supernet -> subnet converter
(:mod:`densenas_mm.apis.conversion`)::

    stem       nn.Sequential: [0] ConvBNAct 3x3 stem conv, then the stem ops
    blocks     nn.ModuleList of DenseNASBlock(head, layers=nn.ModuleList)
    terminal   ConvBNAct 1x1 to last_dim (MobileNetV2 nets), absent otherwise
"""
from functools import partial
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmcls.models.backbones.base_backbone import BaseBackbone
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from densenas_mm.registry import MODELS
from densenas_mm.search_space.errors import SearchSpaceError
from densenas_mm.search_space.grammar import TERMINAL as TERMINAL_OP
from densenas_mm.search_space.grammar import stem_op_name
from densenas_mm.search_space.ops import build_op, init_weights, set_bn_eps
from densenas_mm.search_space.spec import SearchSpace
from densenas_mm.structures import (ArchError, DerivedArch,
                                    check_arch_in_space)
from .state_keys import BLOCKS, HEAD, LAYERS, STEM, TERMINAL

ArchLike = Union[str, dict, DerivedArch]
#: What ``DenseNASNet(out_indices=...)`` counts.
OUT_TYPES = ('blocks', 'stages')


class DenseNASBlock(nn.Module):
    """One routing block: a head layer and its stacking layers.

    Args:
        head (nn.Module): The head op (c_in -> c_out, stride).
        layers (list[nn.Module]): Stacking ops (c_out -> c_out, stride 1).
    """
    head: nn.Module  # HEAD
    layers: nn.ModuleList  # LAYERS

    def __init__(self, head: nn.Module, layers: Sequence[nn.Module]) -> None:
        super().__init__()
        self.add_module(HEAD, head)
        self.add_module(LAYERS, nn.ModuleList(layers))

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

    ``out_type='blocks'`` (the default) numbers the outputs like the blocks:
    index ``i`` in ``[0, len(blocks))`` is the output of block ``i``.
    ``out_type='stages'`` numbers them like mmdet / mmseg backbones: index
    ``s`` is stage ``s``, the last block of the ``s``-th output resolution
    (total stride 4, 8, 16, 32 for a 224 MobileNetV2-type net; see
    :attr:`stage_strides` and :attr:`stage_channels`). Either way one more
    index, the last, is the terminal 1x1 conv output (MobileNetV2 nets
    only), and negative indices count from the end, so ``(-1, )`` (the
    default) is the feature map the classifier consumes.
    :attr:`out_strides` and :attr:`out_channels_per_index` describe the
    outputs that ``out_indices`` select.

    Args:
        arch (str | dict | DerivedArch): Architecture YAML path, its dict,
            the object, or a reference ``net_config`` string.
        in_channels (int, optional): Image channels; defaults to the
            architecture's ``in_channels``.
        search_space (dict | SearchSpace, optional): The space the
            architecture must belong to (the config's space preset). The
            architecture is checked against it, and against the space its
            file records, when the net is built
            (:func:`~densenas_mm.structures.check_arch_in_space`); an
            architecture of another space is refused. Without it the
            recorded space alone is used (published ``net_config`` strings
            record none and are only checked for their own consistency).
        num_classes (int, optional): Classes of the classifier this net
            feeds in this config; when given, it must equal the
            architecture's (the classes of its search). Leave it unset to
            retrain on another label set (a 100-class search retrained on
            ImageNet-1k).
        input_size (int, optional): Input resolution of this config; when
            given, it must equal the resolution the architecture was
            searched for (its strides were chosen for it).
        out_indices (Sequence[int]): Which features to return.
            Defaults to ``(-1, )``.
        out_type (str): ``'blocks'`` or ``'stages'``: what ``out_indices``
            count. Defaults to ``'blocks'``.
        frozen_stages (int): ``-1`` freezes nothing; ``k >= 0`` freezes the
            stem and the first ``k`` blocks (params and BN statistics).
        norm_eval (bool): Keep every BN in eval mode while training.
        init_cfg (dict | list[dict], optional): mmengine init config (e.g.
            ``Pretrained``); without it the reference init is used.

    Example:
        >>> model = dict(
        ...     type='ImageClassifier',
        ...     backbone=dict(
        ...         type='densenas_mm.DenseNASNet',
        ...         # written by the MBV2 search config's arch hook
        ...         arch='work_dirs/densenas_supernet-mbv2_4xb88-150e_in100/'
        ...         'arch/best.yaml'),
        ...     neck=dict(type='GlobalAveragePooling'),
        ...     head=dict(type='LinearClsHead', num_classes=1000,
        ...               in_channels=1984))
    """
    stem: nn.Module  # STEM
    blocks: nn.ModuleList  # BLOCKS
    terminal: Optional[nn.Module]  # TERMINAL

    def __init__(self,
                 arch: ArchLike,
                 in_channels: Optional[int] = None,
                 search_space: Union[Dict, SearchSpace, None] = None,
                 num_classes: Optional[int] = None,
                 input_size: Optional[int] = None,
                 out_indices: Sequence[int] = (-1, ),
                 out_type: str = 'blocks',
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Optional[Any] = None) -> None:
        super().__init__(init_cfg)
        self.arch = self._load_arch(arch, search_space, num_classes,
                                    input_size)
        arch = self.arch
        in_channels = arch.in_channels if in_channels is None else in_channels
        self.in_channels = int(in_channels)
        op = partial(build_op, affine=True, act=arch.act)
        self.add_module(
            STEM,
            op(stem_op_name(arch.stem_ops), self.in_channels,
               arch.stem_channels, arch.stem_stride))
        self.add_module(
            BLOCKS,
            nn.ModuleList(
                DenseNASBlock(
                    op(blk.head_op, blk.c_in, blk.c_out, blk.stride), [
                        op(name, blk.c_out, blk.c_out, 1)
                        for name in blk.stack_ops
                    ]) for blk in arch.blocks))
        self.add_module(
            TERMINAL, None if arch.last_dim is None else op(
                TERMINAL_OP, arch.blocks[-1].c_out, arch.last_dim, 1))
        if out_type not in OUT_TYPES:
            raise ValueError(f'out_type must be one of {OUT_TYPES}, got '
                             f'{out_type!r}')
        self.out_type = out_type
        self._stage_ends = self._last_block_per_resolution()
        self._points = (list(range(len(self.blocks)))
                        if out_type == 'blocks' else list(self._stage_ends))
        if self.terminal is not None:
            self._points.append(len(self.blocks))
        self.num_outputs = len(self._points)
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
    def _load_arch(arch: ArchLike, search_space: Any,
                   num_classes: Optional[int],
                   input_size: Optional[int]) -> DerivedArch:
        """Load ``arch`` and check it against its space and the config."""
        if not isinstance(arch, (str, dict, DerivedArch)):
            raise TypeError('arch must be a YAML path, a dict, a DerivedArch '
                            f'or a net_config string, got '
                            f'{type(arch).__name__}')
        where = (f' {arch!r}' if isinstance(arch, str)
                 and not arch.lstrip().startswith('[[') else '')
        try:
            loaded = DerivedArch.load(arch)
            # the config's space if given (the recorded one must equal it),
            # else the recorded one
            space = (loaded.recorded_space() if search_space is None else
                     SearchSpace.from_config(search_space))
            if space is not None:
                check_arch_in_space(loaded, space)
            wanted = dict(num_classes=num_classes, input_size=input_size)
            for key, value in wanted.items():
                if value is not None and getattr(loaded, key) != value:
                    raise ArchError(
                        f'{key} is {getattr(loaded, key)} in the '
                        f'architecture (its search) but {value} in this '
                        f'config (model.backbone.{key}); use an architecture '
                        f'searched for {key}={value}, or remove '
                        f'model.backbone.{key} to use it on purpose')
        except (ArchError, SearchSpaceError) as err:
            raise ArchError(f'DenseNASNet: invalid architecture{where}: '
                            f'{err}') from None
        return loaded

    def _check_out_indices(self, out_indices: Sequence[int]) -> Tuple[int]:
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        resolved: List[int] = []
        for idx in out_indices:
            pos = idx + self.num_outputs if idx < 0 else idx
            if not isinstance(idx, int) or not 0 <= pos < self.num_outputs:
                raise ValueError(
                    f'out_indices entry {idx!r} is out of range: this net has '
                    f'{self.num_outputs} outputs '
                    f'({self.num_outputs - (self.terminal is not None)} '
                    f'{self.out_type}' +
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

    def _last_block_per_resolution(self) -> Tuple[int, ...]:
        """Index of the last block before each stride-2 head (and of the
        last block)."""
        ends = [
            i - 1 for i, blk in enumerate(self.arch.blocks)
            if i > 0 and blk.stride > 1
        ]
        return tuple(ends + [len(self.arch.blocks) - 1])

    def _block_strides(self) -> List[int]:
        """Total stride of every block output and of the terminal."""
        stride, out = self.arch.stem_stride, []
        for blk in self.arch.blocks:
            stride *= blk.stride
            out.append(stride)
        return out + [stride]

    @property
    def stage_strides(self) -> Tuple[int, ...]:
        """Total stride (w.r.t. the input) of every stage output."""
        strides = self._block_strides()
        return tuple(strides[i] for i in self._stage_ends)

    @property
    def stage_channels(self) -> Tuple[int, ...]:
        """Channels of every stage output."""
        return tuple(self.arch.blocks[i].c_out for i in self._stage_ends)

    @property
    def out_strides(self) -> Tuple[int, ...]:
        """Total stride of each output in :attr:`out_indices`."""
        strides = self._block_strides()
        return tuple(strides[self._points[i]] for i in self.out_indices)

    @property
    def out_channels_per_index(self) -> Tuple[int, ...]:
        """Channels of each output in :attr:`out_indices`."""
        widths = [b.c_out for b in self.arch.blocks]
        if self.terminal is not None:
            widths.append(self.arch.last_dim)
        return tuple(widths[self._points[i]] for i in self.out_indices)

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
        wanted = {self._points[i] for i in self.out_indices}
        x = self.stem(x)
        outs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in wanted:
                outs.append(x)
        if self.terminal is not None:
            x = self.terminal(x)
            if len(self.blocks) in wanted:
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


def check_head_fits(model: nn.Module) -> None:
    """Raise when a classifier's head does not take the DenseNASNet width.

    ``model.head.in_channels`` is a separate config value; a mismatch would
    otherwise surface as a matmul shape error in the first forward. Models
    without a ``DenseNASNet`` backbone pass unchecked.

    Raises:
        ArchError: Naming both widths and the config key to change.
    """
    backbone = getattr(model, 'backbone', None)
    head = getattr(model, 'head', None)
    if not isinstance(backbone, DenseNASNet) or head is None:
        return
    width = getattr(head, 'in_channels', None)
    if isinstance(width, int) and width != backbone.out_channels:
        raise ArchError(
            f'model.head.in_channels is {width} but the DenseNASNet '
            f'backbone gives {backbone.out_channels} channels (its '
            f'{"last_dim" if backbone.arch.last_dim else "last block"}); '
            f'set model.head.in_channels={backbone.out_channels}')
