"""The derived DenseNAS architecture: one structure, two text forms.

:class:`DerivedArch` is what derivation produces and what the standalone
``DenseNASNet`` backbone builds from. It is written as YAML (readable,
versioned, and at the same time an mmrazor ``fix_subnet``: the top-level
alias entries fix every mutable of the supernet with ``load_fix_subnet``,
given the dict of :func:`~densenas_mm.structures.load_fix_subnet_dict`)
and converts exactly to and from the reference code's ``net_config`` string
(read and written by :mod:`.net_config`)::

    [[16, 16], 'mbconv_k3_t1', [], 0, 1]|[[16, 24], 'mbconv_k3_t6', [], 0, 2]|
    ...|[[384, 1984], 'conv1_1']
"""
import copy
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Optional

from densenas_mm.search_space.errors import SearchSpaceError
from densenas_mm.search_space.grammar import parse_op
from densenas_mm.search_space.spec import SearchSpace
from .arch_fields import (check_block_fields, check_chain, check_fields,
                          require_keys)
from .errors import ArchError
from .net_config import format_net_config, parse_net_config

ARCH_KEY = 'densenas_arch'
#: Version 2 embeds the search space (``search_space``); 1 is still read.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)


@dataclass
class DerivedBlock:
    """One routing block of a derived net.

    Attributes:
        c_in (int): Input width (the predecessor's width).
        c_out (int): Output width.
        head_op (str): Op of the head layer (c_in -> c_out, ``stride``).
        stack_ops (list[str]): Ops of the kept stacking layers (skips
            dropped), each c_out -> c_out, stride 1.
        stride (int): Stride of the head layer.
        node (int, optional): Block id in the supernet it came from.
        src (int, optional): Predecessor node in the supernet.
        layer_ids (list[int], optional): Which supernet stacking layers
            ``stack_ops`` come from (for weight inheritance).
    """
    c_in: int
    c_out: int
    head_op: str
    stack_ops: List[str] = field(default_factory=list)
    stride: int = 1
    node: Optional[int] = None
    src: Optional[int] = None
    layer_ids: Optional[List[int]] = None


@dataclass
class DerivedArch:
    """A derived (or published) DenseNAS network.

    Attributes:
        family (str): ``'mbv2'`` or ``'resnet'``.
        stem_channels (int): Output width of the 3x3 stem conv.
        stem_ops (list[str]): Fixed ops after the stem conv.
        blocks (list[DerivedBlock]): The routing blocks in order.
        last_dim (int, optional): Width of the terminal 1x1 conv, or None
            when the last block feeds the classifier (ResNet).
        stem_stride (int): Stride of the stem conv.
        input_size (int): Input resolution the net was searched for.
        num_classes (int): Classifier outputs.
        in_channels (int): Image channels.
        act (str): Activation of stem / terminal.
        path (list[int], optional): Supernet node path, stem to terminal.
        space (str, optional): Name of the search space.
        search_space (dict, optional): The spec of the space the net was
            derived in (``SearchSpace.to_dict()``); a net is refused for
            another space (:func:`~.arch_space.check_arch_in_space`).
        fix_subnet (dict): mmrazor alias -> chosen map for the supernet.
        meta (dict): Free-form facts (epoch, predicted latency, ...).
    """
    family: str
    stem_channels: int
    stem_ops: List[str]
    blocks: List[DerivedBlock]
    last_dim: Optional[int] = None
    stem_stride: int = 2
    input_size: int = 224
    num_classes: int = 1000
    in_channels: int = 3
    act: str = 'relu6'
    path: Optional[List[int]] = None
    space: Optional[str] = None
    search_space: Optional[Dict[str, Any]] = None
    fix_subnet: Dict[str, str] = field(default_factory=dict)
    meta: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.blocks, list):
            raise ArchError(f'blocks must be a list, got '
                            f'{type(self.blocks).__name__}')
        self.blocks = [_to_block(b, i) for i, b in enumerate(self.blocks)]
        self.validate()

    # ----------------------------------------------------------- checking
    @property
    def out_channels(self) -> int:
        """Width of the features fed to the neck/classifier."""
        if self.last_dim is not None:
            return self.last_dim
        return self.blocks[-1].c_out if self.blocks else self.stem_channels

    def validate(self) -> None:
        """Check field types, that widths chain, that ops exist and that the
        supernet coordinates and path agree; raise :class:`ArchError`.

        This is the architecture's own consistency; whether it belongs to a
        search space is :func:`~.arch_space.check_arch_in_space`.
        """
        check_fields(self)
        if self.family == 'mbv2' and self.last_dim is None:
            raise ArchError('a MobileNetV2-type net needs its terminal '
                            "[[C, last_dim], 'conv1_1'] entry (last_dim)")
        if not self.blocks:
            raise ArchError('an architecture needs at least one block')
        width = self.stem_channels
        for i, name in enumerate(self.stem_ops):
            self._check_op(name, f'stem op {i}')
        for i, blk in enumerate(self.blocks):
            where = f'block {i}' + (f' (node {blk.node})'
                                    if blk.node is not None else '')
            check_block_fields(blk, where)
            if blk.c_in != width:
                raise ArchError(
                    f'widths do not chain: {where} takes {blk.c_in} '
                    f'channels but the previous layer gives {width}')
            head = self._check_op(blk.head_op, f'{where} head')
            if head.kind in ('skip', 'conv1x1'):
                raise ArchError(f'{where}: {blk.head_op!r} cannot be a head '
                                'op')
            for name in blk.stack_ops:
                if self._check_op(name, f'{where} stack').kind == 'skip':
                    raise ArchError(f'{where}: skip_connect must be dropped '
                                    'from derived stacking layers')
            if (blk.layer_ids is not None
                    and len(blk.layer_ids) != len(blk.stack_ops)):
                raise ArchError(f'{where}: layer_ids and stack_ops differ '
                                'in length')
            width = blk.c_out
        check_chain(self)
        self.recorded_space()

    def recorded_space(self) -> Optional[SearchSpace]:
        """The :class:`SearchSpace` recorded in the file (None if absent).

        Raises:
            ArchError: If the recorded spec is not a valid space or its name
                disagrees with ``space``.
        """
        if self.search_space is None:
            return None
        try:
            space = SearchSpace.from_config(self.search_space)
        except (SearchSpaceError, TypeError) as err:
            raise ArchError(f'search_space: not a valid search space '
                            f'({err})') from None
        if self.space is not None and self.space != space.name:
            raise ArchError(f'space is {self.space!r} but search_space is '
                            f'named {space.name!r}')
        return space

    def _check_op(self, name: str, where: str):
        try:
            spec = parse_op(name)
        except ValueError as err:
            raise ArchError(f'{where}: {err}') from None
        if spec.family not in ('any', self.family):
            raise ArchError(f'{where}: op {name!r} does not belong to a '
                            f'{self.family} net')
        return spec

    # ------------------------------------------------------ net_config text
    def to_net_config(self) -> str:
        """The reference code's ``net_config`` string (entries joined by |)."""
        return format_net_config(
            self.stem_channels, self.stem_ops,
            [(b.c_in, b.c_out, b.head_op, b.stack_ops, b.stride)
             for b in self.blocks], self.last_dim)

    @classmethod
    def from_net_config(cls,
                        text: str,
                        input_size: int = 224,
                        num_classes: int = 1000,
                        stem_stride: int = 2,
                        **kwargs) -> 'DerivedArch':
        """Build from a reference ``net_config`` string
        (:func:`~.net_config.parse_net_config` reads it).

        Args:
            text (str): The string; whitespace and newlines are ignored.
            input_size (int): Input size the net is built for.
            num_classes (int): Classifier outputs.
            stem_stride (int): Stride of the stem conv.
            **kwargs: Further :class:`DerivedArch` fields.

        Raises:
            ArchError: For malformed entries, with the entry's position.
        """
        net = parse_net_config(text)
        kwargs.setdefault('act', 'relu6' if net.family == 'mbv2' else 'relu')
        return cls(
            family=net.family,
            stem_channels=net.stem_channels,
            stem_ops=net.stem_ops,
            blocks=[DerivedBlock(*entry) for entry in net.blocks],
            last_dim=net.last_dim,
            stem_stride=stem_stride,
            input_size=input_size,
            num_classes=num_classes,
            **kwargs)

    # ------------------------------------------------------------ YAML/dict
    def to_dict(self) -> Dict[str, Any]:
        """The file content: ``densenas_arch`` section + fix_subnet entries.

        The alias entries (``{alias: {chosen: ...}}``) make the same file
        loadable by mmrazor's ``load_fix_subnet`` on the supernet.
        """
        body = asdict(self)
        body.pop('fix_subnet')
        body = dict(format_version=FORMAT_VERSION, **body)
        body['net_config'] = self.to_net_config()
        out: Dict[str, Any] = {ARCH_KEY: body}
        for alias, chosen in self.fix_subnet.items():
            out[alias] = dict(chosen=chosen)
        return out

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> 'DerivedArch':
        """Inverse of :meth:`to_dict` (also accepts a bare ``net_config``)."""
        if not isinstance(data, dict) or ARCH_KEY not in data:
            raise ArchError(
                f'not a DenseNAS architecture file: no {ARCH_KEY!r} section '
                '(write one with DerivedArch.dump, or pass a net_config '
                'string)')
        body = copy.deepcopy(data[ARCH_KEY])
        if not isinstance(body, dict):
            raise ArchError(f'the {ARCH_KEY} section must be a mapping, got '
                            f'{type(body).__name__}')
        version = body.pop('format_version', None)
        if version not in READABLE_VERSIONS:
            raise ArchError(f'unsupported architecture format_version '
                            f'{version!r}; this version reads '
                            f'{list(READABLE_VERSIONS)}')
        _require_written_keys(body, version)
        net_config = body.pop('net_config', None)
        fix_subnet = {
            k: (v.get('chosen') if isinstance(v, dict) else v)
            for k, v in data.items() if k != ARCH_KEY
        }
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(body) - known)
        if unknown:
            raise ArchError(f'unknown keys {unknown} in {ARCH_KEY}')
        try:
            arch = cls(fix_subnet=fix_subnet, **body)
        except TypeError as err:
            raise ArchError(f'malformed {ARCH_KEY} section: {err}') from None
        if net_config is not None and net_config != arch.to_net_config():
            raise ArchError('the net_config in the file disagrees with its '
                            'blocks; the file was edited inconsistently')
        return arch

    def dump(self, path: str) -> None:
        """Write the YAML file atomically."""
        from densenas_mm.utils.io import dump_yaml_atomic
        dump_yaml_atomic(self.to_dict(), path)

    @classmethod
    def load(cls, source: Any) -> 'DerivedArch':
        """Load from a :class:`DerivedArch`, a dict, a YAML/JSON file path,
        or a ``net_config`` string."""
        if isinstance(source, DerivedArch):
            return source
        if isinstance(source, dict):
            return cls.from_dict(source)
        text = str(source)
        if text.lstrip().startswith('[['):
            return cls.from_net_config(text)
        data = read_arch_dict(text)
        try:
            return cls.from_dict(data)
        except ArchError as err:
            raise ArchError(f'{text}: {err}') from None


def read_arch_dict(path: str) -> Dict[str, Any]:
    """The content of an architecture file, read safely.

    No code runs (plain YAML only), a file over the size limit or nested
    too deeply is refused before it is parsed
    (:func:`~densenas_mm.utils.safe_read.read_yaml_file`).

    Args:
        path (str): A YAML (or JSON) architecture file.

    Returns:
        dict: The parsed file (not yet validated).

    Raises:
        ArchError: Naming the file and the problem.
    """
    from densenas_mm.utils.safe_read import YamlFileError, read_yaml_file
    try:
        data = read_yaml_file(path, 'architecture file')
    except YamlFileError as err:
        raise ArchError(str(err)) from None
    if not isinstance(data, dict):
        raise ArchError(f'{path}: not a DenseNAS architecture file: it holds '
                        f'a {type(data).__name__}, not a mapping with a '
                        f'{ARCH_KEY!r} section')
    return data


_BLOCK_FIELDS = tuple(f.name for f in fields(DerivedBlock))
_BLOCK_REQUIRED = ('c_in', 'c_out', 'head_op')


def _to_block(value: Any, index: int) -> DerivedBlock:
    """A :class:`DerivedBlock` from a block or its mapping."""
    if isinstance(value, DerivedBlock):
        return value
    if not isinstance(value, dict):
        raise ArchError(f'block {index} must be a mapping of '
                        f'{list(_BLOCK_FIELDS)}, got {value!r}')
    unknown = sorted(set(value) - set(_BLOCK_FIELDS))
    missing = [k for k in _BLOCK_REQUIRED if k not in value]
    if unknown or missing:
        raise ArchError(f'block {index}: unknown keys {unknown}, missing '
                        f'keys {missing}; a block has {list(_BLOCK_FIELDS)}')
    return DerivedBlock(**value)


def _require_written_keys(body: Dict[str, Any], version: int) -> None:
    """Every key :meth:`DerivedArch.to_dict` writes must be in the file."""
    expected = [f.name for f in fields(DerivedArch) if f.name != 'fix_subnet']
    if version < 2:
        expected.remove('search_space')
    require_keys(body, expected + ['net_config'], _BLOCK_FIELDS)
