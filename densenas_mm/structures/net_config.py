"""The reference code's ``net_config`` text: its one reader and writer.

A net is written as entries joined by ``|``::

    [[C, C], STEM_OP, [], 0, 1]                      (MobileNetV2 stem ops)
    [[C_in, C_out], HEAD_OP, [STACK_OPS], N_STACK, STRIDE]   (one per block)
    [[C_last, LAST_DIM], 'conv1_1']                  (optional, last)

This module knows the text only; :class:`~.derived_arch.DerivedArch`
turns :class:`NetConfig` into a net (``DerivedArch.from_net_config``).
"""
import ast
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from densenas_mm.search_space.grammar import parse_op
from .errors import ArchError

#: One block entry: (c_in, c_out, head_op, stack_ops, stride).
BlockEntry = Tuple[int, int, str, List[str], int]


@dataclass
class NetConfig:
    """What a ``net_config`` string says.

    Attributes:
        family (str): ``'mbv2'`` or ``'resnet'``, from the first op.
        stem_channels (int): Width entering the first block.
        stem_ops (list[str]): The fixed MobileNetV2 stem ops.
        blocks (list[BlockEntry]): One entry per routing block.
        last_dim (int, optional): Width of the final ``conv1_1``.
    """
    family: str
    stem_channels: int
    stem_ops: List[str]
    blocks: List[BlockEntry]
    last_dim: Optional[int]


def format_net_config(stem_channels: int, stem_ops: Sequence[str],
                      blocks: Sequence[BlockEntry],
                      last_dim: Optional[int]) -> str:
    """The ``net_config`` string of a net (inverse of
    :func:`parse_net_config`)."""
    entries = [[[stem_channels, stem_channels], name, [], 0, 1]
               for name in stem_ops]
    for c_in, c_out, head_op, stack_ops, stride in blocks:
        entries.append([[c_in, c_out], head_op, list(stack_ops),
                        len(stack_ops), stride])
    if last_dim is not None:
        entries.append([[blocks[-1][1], last_dim], 'conv1_1'])
    return '|'.join(repr(e) for e in entries)


def _entries(text: str) -> list:
    """The literal entries of ``text``, each checked for its shape."""
    parts = [p.strip() for p in str(text).split('|') if p.strip()]
    if not parts:
        raise ArchError('empty net_config')
    entries = []
    for idx, part in enumerate(parts):
        try:
            entry = ast.literal_eval(part)
        except (ValueError, SyntaxError):
            raise ArchError(f'net_config entry {idx} is not a literal '
                            f'list: {part!r}') from None
        ok = (isinstance(entry, list) and len(entry) in (2, 5)
              and isinstance(entry[0], list) and len(entry[0]) == 2)
        if ok and len(entry) == 5:
            ok = (isinstance(entry[2], list) and entry[3] == len(entry[2])
                  and isinstance(entry[4], int))
        if not ok:
            raise ArchError(
                f'net_config entry {idx} must be [[C_in, C_out], OP, '
                f'[STACK_OPS], N_STACK, STRIDE] with N_STACK equal to '
                f"len(STACK_OPS), or [[C_in, C_out], 'conv1_1'], got "
                f'{part!r}')
        entries.append(entry)
    return entries


def parse_net_config(text: str) -> NetConfig:
    """Read a ``net_config`` string (whitespace and newlines ignored).

    The family comes from the ops. For MobileNetV2 nets the leading
    entries with an op but no stacking layers, equal widths and stride 1
    before the first width change are the fixed stem ops (the reference's
    ``mbconv_k3_t1``); the final ``conv1_1`` entry gives ``last_dim``.

    Raises:
        ArchError: For malformed entries, with the entry's position.
    """
    entries = _entries(text)
    last_dim = None
    if len(entries[-1]) == 2:
        if entries[-1][1] != 'conv1_1':
            raise ArchError("the 2-field net_config entry must be the "
                            f"terminal 'conv1_1', got {entries[-1]!r}")
        last_dim = entries.pop()[0][1]
    for idx, e in enumerate(entries):
        if len(e) != 5:
            raise ArchError(f'net_config entry {idx} is a terminal entry '
                            'but is not last')
    try:
        family = parse_op(entries[0][1]).family
    except ValueError as err:
        raise ArchError(f'net_config entry 0: {err}') from None
    stem_ops = []
    if family == 'mbv2':
        while (len(entries) > 1 and entries[0][0][0] == entries[0][0][1]
               and not entries[0][2] and entries[0][4] == 1):
            stem_ops.append(entries.pop(0)[1])
    blocks = [(e[0][0], e[0][1], e[1], list(e[2]), e[4]) for e in entries]
    return NetConfig(family=family, stem_channels=entries[0][0][0],
                     stem_ops=stem_ops, blocks=blocks, last_dim=last_dim)
