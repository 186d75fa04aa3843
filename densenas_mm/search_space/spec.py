"""The DenseNAS search-space specification and its validation.

A space is given in a config as a plain dict (see
``configs/_base_/search_spaces/``) and turned into a :class:`SearchSpace`,
which checks that its lists agree with each other before anything is built.
Errors name the offending entry and say what would be right, so a broken
space fails at config load rather than with an IndexError in forward (the
reference code's failure mode when users edit its space).
"""
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Sequence, Union

from .errors import SearchSpaceError
from .grammar import OpSpec, parse_op
from .graph import SpaceGraph

_LIST_FIELDS = ('widths', 'resolutions', 'stages', 'num_layers')
#: Fields that label a space without changing its supernet (they are left
#: out of :meth:`SearchSpace.fingerprint`).
LABEL_FIELDS = ('name', 'num_classes')


@dataclass
class SearchSpace:
    """A densely connected DenseNAS search space.

    Candidate blocks are numbered 1..N; node 0 is the stem output and node
    N+1 the terminal (1x1 branches to ``last_dim``, then pooling and the
    classifier).

    Args:
        widths (list[int]): Output channels of each candidate block.
        resolutions (list[int]): Output resolution (pixels per side) of each
            block at ``input_size``.
        stages (list[int]): Stage (width group) id of each block, starting
            at 1, non-decreasing, no gaps.
        num_layers (list[int]): Number of searchable stacking layers per block.
        head_ops (list[str]): Candidate ops of head layers (no skip).
        stack_ops (list[str]): Candidate ops of stacking layers.
        connections (int | list[int]): How many subsequent blocks a block may
            link to; one number, or one per source stage id (0 = stem).
        input_size (int): Input resolution the space is defined for.
        stem_channels (int): Stem width (the width of node 0).
        stem_stride (int): Stride of the 3x3 stem conv.
        stem_ops (list[str]): Fixed ops after the stem conv (MobileNetV2:
            ``['mbconv_k3_t1']``).
        last_dim (int): Width of the terminal 1x1 convs.
        terminal_in_subnet (bool): Whether derived nets keep the terminal
            1x1 conv (MobileNetV2: yes; ResNet: no, the last block feeds
            the classifier).
        num_classes (int): Classifier outputs.
        in_channels (int): Image channels.
        act (str): Activation of stem and terminal, ``'relu6'`` or ``'relu'``.
        name (str): A label for logs and tables.
    """
    widths: List[int]
    resolutions: List[int]
    stages: List[int]
    num_layers: List[int]
    head_ops: List[str]
    stack_ops: List[str]
    connections: Union[int, List[int]] = 4
    input_size: int = 224
    stem_channels: int = 16
    stem_stride: int = 2
    stem_ops: List[str] = field(default_factory=list)
    last_dim: int = 1984
    terminal_in_subnet: bool = True
    num_classes: int = 1000
    in_channels: int = 3
    act: str = 'relu6'
    name: str = 'custom'

    @classmethod
    def from_config(cls, cfg: Union[Dict[str, Any], 'SearchSpace']
                    ) -> 'SearchSpace':
        """Build and validate a space from a config dict (or pass one through).

        Raises:
            SearchSpaceError: For unknown keys or any inconsistency.
        """
        if isinstance(cfg, SearchSpace):
            return cfg
        if not isinstance(cfg, dict):
            raise SearchSpaceError(
                f'a search space must be a dict, got {type(cfg).__name__}')
        cfg = dict(cfg)
        cfg.pop('type', None)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise SearchSpaceError(
                f'unknown search-space keys {unknown}; valid keys are '
                f'{sorted(known)}')
        missing = [k for k in ('widths', 'resolutions', 'stages',
                               'num_layers', 'head_ops', 'stack_ops')
                   if k not in cfg]
        if missing:
            raise SearchSpaceError(f'search space lacks required keys '
                                   f'{missing}')
        for key in _LIST_FIELDS + ('head_ops', 'stack_ops', 'stem_ops'):
            if key in cfg:
                cfg[key] = list(cfg[key])
        if isinstance(cfg.get('connections'), (list, tuple)):
            cfg['connections'] = list(cfg['connections'])
        space = cls(**cfg)
        space.validate()
        return space

    def to_dict(self) -> Dict[str, Any]:
        """Plain dict, accepted back by :meth:`from_config`."""
        return asdict(self)

    # ------------------------------------------------------------ identity
    def structure(self) -> Dict[str, Any]:
        """The fields that make the supernet, normalised.

        ``name`` and ``num_classes`` are left out (see :data:`LABEL_FIELDS`);
        ``connections`` is always given per source stage, so ``4`` and
        ``[4, 4, ...]`` are the same space.
        """
        out = {k: v for k, v in self.to_dict().items()
               if k not in LABEL_FIELDS}
        out['connections'] = [
            self.connections_of_stage(s) for s in range(self.num_stages + 1)
        ]
        return out

    def fingerprint(self) -> str:
        """A short hash of :meth:`structure`: equal for equal supernets."""
        text = json.dumps(self.structure(), sort_keys=True)
        return hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]

    def differences(self, other: 'SearchSpace') -> List[str]:
        """``'field: mine vs other'`` for every structural field that differs.
        """
        mine, theirs = self.structure(), other.structure()
        return [
            f'{key}: {mine[key]!r} vs {theirs[key]!r}' for key in mine
            if mine[key] != theirs[key]
        ]

    # ------------------------------------------------------------ queries
    @property
    def num_blocks(self) -> int:
        """Number of candidate blocks N."""
        return len(self.widths)

    @property
    def num_stages(self) -> int:
        """Highest stage id of a block."""
        return max(self.stages)

    @property
    def family(self) -> str:
        """``'mbv2'`` or ``'resnet'``, from the head ops."""
        return parse_op(self.head_ops[0]).family

    @property
    def stem_resolution(self) -> int:
        """Resolution of node 0."""
        return self.input_size // self.stem_stride

    def connections_of_stage(self, stage: int) -> int:
        """How many subsequent blocks a block of ``stage`` may link to."""
        if isinstance(self.connections, int):
            return self.connections
        return self.connections[stage]

    # --------------------------------------------------------- validation
    def validate(self) -> None:
        """Check the whole spec; raise :class:`SearchSpaceError` if wrong."""
        self._check_lists()
        self._check_ops()
        self._check_stem_and_sizes()
        # A space with no route to the terminal is caught by the graph.
        SpaceGraph(self)

    def _check_lists(self) -> None:
        lengths = {k: len(getattr(self, k)) for k in _LIST_FIELDS}
        if len(set(lengths.values())) != 1:
            raise SearchSpaceError(
                'the per-block lists must have one entry per candidate '
                f'block, but their lengths differ: {lengths}')
        if lengths['widths'] == 0:
            raise SearchSpaceError('a search space needs at least one block')
        for key in _LIST_FIELDS:
            for idx, value in enumerate(getattr(self, key), start=1):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise SearchSpaceError(
                        f'{key}[{idx - 1}] (block {idx}) must be an int, '
                        f'got {value!r}')
                low = 0 if key == 'num_layers' else 1
                if value < low:
                    raise SearchSpaceError(
                        f'{key}[{idx - 1}] (block {idx}) must be >= {low}, '
                        f'got {value}')
        prev_w, prev_s = self.stem_channels, 0
        for idx, (w, s) in enumerate(zip(self.widths, self.stages), start=1):
            if w < prev_w:
                raise SearchSpaceError(
                    f'widths must not decrease: block {idx} has width {w} '
                    f'after width {prev_w}')
            if s < prev_s:
                raise SearchSpaceError(
                    f'stage ids must not decrease: block {idx} has stage {s} '
                    f'after stage {prev_s}')
            if s > prev_s + 1:
                raise SearchSpaceError(
                    f'stage {prev_s + 1} is empty: block {idx} jumps from '
                    f'stage {prev_s} to stage {s}; stage ids must be '
                    'consecutive starting at 1')
            prev_w, prev_s = w, s
        if self.stages[0] != 1:
            raise SearchSpaceError(
                f'the first block must be in stage 1, got {self.stages[0]}')
        if isinstance(self.connections, int):
            if self.connections < 1:
                raise SearchSpaceError(
                    f'connections must be >= 1, got {self.connections}')
        else:
            need = self.num_stages + 1
            if len(self.connections) != need:
                raise SearchSpaceError(
                    f'connections has {len(self.connections)} entries; give '
                    f'one per source stage 0..{self.num_stages} ({need}) or '
                    'a single int')
            for stage, value in enumerate(self.connections):
                if not isinstance(value, int) or value < 1:
                    raise SearchSpaceError(
                        f'connections[{stage}] must be an int >= 1, got '
                        f'{value!r}')

    def _check_ops(self) -> None:
        if not self.head_ops:
            raise SearchSpaceError('head_ops must not be empty')
        specs: List[OpSpec] = []
        for key in ('head_ops', 'stack_ops', 'stem_ops'):
            for idx, name in enumerate(getattr(self, key)):
                try:
                    specs.append(parse_op(name))
                except ValueError as err:
                    raise SearchSpaceError(f'{key}[{idx}]: {err}') from None
            ops = getattr(self, key)
            if len(set(ops)) != len(ops):
                raise SearchSpaceError(f'{key} lists an op twice: {ops}')
        for name in self.head_ops:
            if parse_op(name).kind in ('skip', 'conv1x1'):
                raise SearchSpaceError(
                    f'head_ops must not contain {name!r}: head layers change '
                    'width or resolution, so they cannot be skip or conv1_1')
        if any(n > 0 for n in self.num_layers) and not self.stack_ops:
            raise SearchSpaceError(
                'stack_ops is empty but some blocks have stacking layers')
        if 'conv1_1' in self.stack_ops:
            raise SearchSpaceError('conv1_1 is the terminal op, not a '
                                   'stacking-layer candidate')
        families = {s.family for s in specs} - {'any'}
        if len(families) > 1:
            raise SearchSpaceError(
                'ops of one space must all be MobileNetV2 (mbconv_*) or all '
                f'ResNet (basic_block, bottleneck), got {sorted(families)}')
        if self.act not in ('relu', 'relu6'):
            raise SearchSpaceError(
                f"act must be 'relu' or 'relu6', got {self.act!r}")

    def _check_stem_and_sizes(self) -> None:
        for key in ('input_size', 'stem_channels', 'stem_stride', 'last_dim',
                    'num_classes', 'in_channels'):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise SearchSpaceError(f'{key} must be an int >= 1, got '
                                       f'{value!r}')
        if self.input_size % self.stem_stride:
            raise SearchSpaceError(
                f'input_size {self.input_size} is not divisible by '
                f'stem_stride {self.stem_stride}')
        prev = self.stem_resolution
        for idx, res in enumerate(self.resolutions, start=1):
            if res > prev or prev % res or prev // res > 2:
                raise SearchSpaceError(
                    f'resolution of block {idx} is {res} after {prev}: a '
                    'block keeps or halves the resolution of the one before '
                    '(a jump of more than 2x, or a growth, is not allowed)')
            prev = res


def space_from_config(cfg: Union[Dict[str, Any], SearchSpace,
                                 Sequence]) -> SearchSpace:
    """Shorthand for :meth:`SearchSpace.from_config`."""
    return SearchSpace.from_config(cfg)  # type: ignore[arg-type]
