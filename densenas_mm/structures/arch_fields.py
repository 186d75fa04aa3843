"""Type and range checks of the fields of a derived architecture.

A hand-edited or damaged architecture file must fail when it is read, with a
message naming the field, the value and what is allowed, instead of ending
in a torch traceback when the net is built (``c_out: '24'``,
``stem_channels: 8.0``, ``c_out: true``). :func:`check_fields` is called by
``DerivedArch.validate`` before anything else looks at the values.
"""
from typing import Any, Dict, List, Optional, Sequence

from densenas_mm.search_space.naming import parse_alias
from .errors import ArchError

FAMILIES = ('mbv2', 'resnet')
ACTIVATIONS = ('relu', 'relu6')


def _kind(value: Any) -> str:
    return type(value).__name__


def expect_int(value: Any, where: str, low: int = 1,
               allowed: Optional[tuple] = None) -> int:
    """``value`` if it is a real int (not a bool) >= ``low`` (or one of
    ``allowed``); :class:`ArchError` otherwise."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    if ok and allowed is not None:
        ok = value in allowed
    elif ok:
        ok = value >= low
    if not ok:
        want = (f'one of {list(allowed)}'
                if allowed is not None else f'an int >= {low}')
        raise ArchError(f'{where} must be {want}, got {value!r} '
                        f'({_kind(value)})')
    return value


def expect_str(value: Any, where: str) -> str:
    """``value`` if it is a str; :class:`ArchError` otherwise."""
    if not isinstance(value, str):
        raise ArchError(f'{where} must be a string, got {value!r} '
                        f'({_kind(value)})')
    return value


def expect_list(value: Any, where: str) -> list:
    """``value`` if it is a list; :class:`ArchError` otherwise."""
    if not isinstance(value, list):
        raise ArchError(f'{where} must be a list, got {value!r} '
                        f'({_kind(value)})')
    return value


def check_block_fields(blk: Any, where: str) -> None:
    """Types and ranges of one ``DerivedBlock``."""
    expect_int(blk.c_in, f'{where}: c_in')
    expect_int(blk.c_out, f'{where}: c_out')
    expect_str(blk.head_op, f'{where}: head_op')
    for k, name in enumerate(expect_list(blk.stack_ops,
                                         f'{where}: stack_ops')):
        expect_str(name, f'{where}: stack_ops[{k}]')
    expect_int(blk.stride, f'{where}: stride', allowed=(1, 2))
    if blk.node is not None:
        expect_int(blk.node, f'{where}: node', low=1)
    if blk.src is not None:
        expect_int(blk.src, f'{where}: src', low=0)
    if blk.layer_ids is not None:
        ids = expect_list(blk.layer_ids, f'{where}: layer_ids')
        for k, lid in enumerate(ids):
            expect_int(lid, f'{where}: layer_ids[{k}]', low=0)
        if ids != sorted(set(ids)):
            raise ArchError(f'{where}: layer_ids must be increasing and '
                            f'distinct, got {ids}')


def check_fields(arch: Any) -> None:
    """Types and ranges of every field of a ``DerivedArch``.

    Raises:
        ArchError: Naming the first bad field, its value and what is allowed.
    """
    if arch.family not in FAMILIES:
        raise ArchError(f'family must be one of {list(FAMILIES)}, got '
                        f'{arch.family!r}')
    expect_int(arch.stem_channels, 'stem_channels')
    expect_int(arch.stem_stride, 'stem_stride')
    for i, name in enumerate(expect_list(arch.stem_ops, 'stem_ops')):
        expect_str(name, f'stem_ops[{i}]')
    if arch.last_dim is not None:
        expect_int(arch.last_dim, 'last_dim')
    expect_int(arch.input_size, 'input_size')
    expect_int(arch.num_classes, 'num_classes')
    expect_int(arch.in_channels, 'in_channels')
    if arch.act not in ACTIVATIONS:
        raise ArchError(f'act must be one of {list(ACTIVATIONS)}, got '
                        f'{arch.act!r}')
    if arch.path is not None:
        for i, node in enumerate(expect_list(arch.path, 'path')):
            expect_int(node, f'path[{i}]', low=0)
    if arch.space is not None:
        expect_str(arch.space, 'space')
    if arch.search_space is not None and not isinstance(
            arch.search_space, dict):
        raise ArchError(f'search_space must be a mapping (the spec of the '
                        f'space), got {_kind(arch.search_space)}')
    if not isinstance(arch.fix_subnet, dict):
        raise ArchError(f'fix_subnet must be a mapping, got '
                        f'{_kind(arch.fix_subnet)}')
    for alias, chosen in arch.fix_subnet.items():
        try:
            parse_alias(alias)
        except ValueError as err:
            raise ArchError(f'top-level entry {alias!r}: {err}') from None
        expect_str(chosen, f'{alias}.chosen')
    if not isinstance(arch.meta, dict):
        raise ArchError(f'meta must be a mapping, got {_kind(arch.meta)}')


def check_chain(arch: Any) -> None:
    """Supernet coordinates of the blocks agree with each other and the path.

    Either every block carries ``node`` / ``src`` (the search wrote it) or
    none does (a published ``net_config``). With coordinates the blocks must
    form a chain ``0 -> node_1 -> ... -> node_n`` and ``path`` must be
    ``[0, node_1, ..., node_n, terminal]``.

    Raises:
        ArchError: Naming the first block or entry that disagrees.
    """
    has = [b.node is not None and b.src is not None for b in arch.blocks]
    if any(has) and not all(has):
        lacking = [i for i, h in enumerate(has) if not h]
        raise ArchError(
            f'blocks {lacking} lack node/src while others have them: a file '
            'written by the search has them on every block')
    if not all(has):
        if arch.path is not None:
            raise ArchError(
                f'path {arch.path} is given but the blocks have no supernet '
                'node/src to compare it with')
        return
    prev = 0
    for i, blk in enumerate(arch.blocks):
        if blk.src != prev:
            raise ArchError(
                f'block {i} (node {blk.node}) comes from node {blk.src} but '
                f'the previous block is node {prev}; the blocks must form a '
                'path 0 -> ... -> terminal')
        if blk.node <= prev:
            raise ArchError(f'block {i}: node {blk.node} must be greater '
                            f'than the previous node {prev}')
        prev = blk.node
    nodes: List[int] = [0] + [b.node for b in arch.blocks]
    if arch.path is not None and (list(arch.path[:-1]) != nodes
                                  or len(arch.path) != len(nodes) + 1
                                  or arch.path[-1] <= nodes[-1]):
        raise ArchError(
            f'path {arch.path} disagrees with the blocks: they give '
            f'{nodes + ["terminal"]}; the file was edited inconsistently '
            'or truncated')


def require_keys(body: Dict[str, Any], expected: Sequence[str],
                 block_keys: Sequence[str]) -> None:
    """Every key the writer writes must be in the file's section.

    Defaults would otherwise stand in for whatever a truncated or
    hand-trimmed file lost (a ResNet net cut after its third block would
    build as 3 blocks with ReLU6).

    Args:
        body (dict): The ``densenas_arch`` section as read.
        expected (Sequence[str]): Its keys as written.
        block_keys (Sequence[str]): The keys of each written block.

    Raises:
        ArchError: Naming the missing keys.
    """
    missing = [k for k in expected if k not in body]
    if missing:
        raise ArchError(
            f'the densenas_arch section lacks {missing}: the file is '
            'truncated or was trimmed by hand. Files written by the search '
            '(or DerivedArch.dump) have every field; restore the file or '
            'write it again')
    blocks = body.get('blocks')
    for i, blk in enumerate(blocks if isinstance(blocks, list) else []):
        if isinstance(blk, dict):
            lacking = [k for k in block_keys if k not in blk]
            if lacking:
                raise ArchError(f'block {i} lacks {lacking}: the file is '
                                'truncated or was trimmed by hand')
