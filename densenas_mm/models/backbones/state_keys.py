"""The state-dict key layout of the DenseNAS backbones, in one place.

The supernet (:class:`~.supernet.DenseNASSupernet`) and the derived net
(:class:`~.densenas_net.DenseNASNet`) register their children under the
names defined here, and the converter maps a derived net's keys to the
supernet's with :func:`subnet_to_supernet_key`::

    supernet                                            derived net
    stem.<p>                                            stem.<p>
    blocks.b<node>.heads.from<src>._candidates.<op>.<p> blocks.<i>.head.<p>
    blocks.b<node>.layers.<lid>._candidates.<op>.<p>    blocks.<i>.layers.<k>.<p>
    terminal.from<last node>.<p>                        terminal.<p>

(``<lid>`` is the block's ``layer_ids[k]``; ``b<node>`` / ``from<src>`` are
:func:`~densenas_mm.search_space.naming.block_key` /
:func:`~densenas_mm.search_space.naming.edge_key`.)
"""
from typing import Iterable, List

from densenas_mm.search_space.naming import block_key, edge_key
from densenas_mm.structures import DerivedArch

#: The stem (both nets).
STEM = 'stem'
#: The routing blocks (supernet: ``ModuleDict`` by node; derived net:
#: ``ModuleList`` in path order).
BLOCKS = 'blocks'
#: The terminal 1x1 conv (supernet: ``ModuleDict`` by source node).
TERMINAL = 'terminal'
#: The head mixed ops of a supernet block, by source node.
HEADS = 'heads'
#: The stacking layers of a block (both nets).
LAYERS = 'layers'
#: The head op of a derived block.
HEAD = 'head'
#: The candidate ops of a mixed op
#: (:class:`~densenas_mm.models.mutables.DenseNASMixedOp`), by op name.
CANDIDATES = '_candidates'


def supernet_block(node: int) -> str:
    """Key prefix of the supernet block of ``node``."""
    return f'{BLOCKS}.{block_key(node)}'


def supernet_head(node: int, src: int) -> str:
    """Key prefix of the head mixed op on the edge ``src -> node``."""
    return f'{supernet_block(node)}.{HEADS}.{edge_key(src)}'


def supernet_layer(node: int, layer_id: int) -> str:
    """Key prefix of stacking layer ``layer_id`` of the block of ``node``."""
    return f'{supernet_block(node)}.{LAYERS}.{layer_id}'


def supernet_terminal(node: int) -> str:
    """Key prefix of the terminal branch from ``node``."""
    return f'{TERMINAL}.{edge_key(node)}'


def candidate(mixed_op: str, op: str) -> str:
    """Key prefix of candidate ``op`` of the mixed op at ``mixed_op``."""
    return f'{mixed_op}.{CANDIDATES}.{op}'


def candidates_in(keys: Iterable[str], mixed_op: str) -> List[str]:
    """Sorted names of the candidate ops of the mixed op at ``mixed_op``
    that ``keys`` (a supernet state's keys) hold."""
    pre = f'{mixed_op}.{CANDIDATES}.'
    return sorted({k[len(pre):].split('.')[0] for k in keys
                   if k.startswith(pre)})


def subnet_to_supernet_key(key: str, arch: DerivedArch) -> str:
    """Map a :class:`~.densenas_net.DenseNASNet` state key to the
    supernet's.

    Args:
        key (str): Key relative to the derived backbone, e.g.
            ``'blocks.2.layers.0.layers.1.0.weight'``.
        arch (DerivedArch): The architecture (with ``node`` / ``src`` /
            ``layer_ids`` of each block, as derivation writes them).

    Returns:
        str: Key relative to the supernet backbone.

    Raises:
        ValueError: For a key that is not a ``DenseNASNet`` parameter or
            buffer of ``arch``.
    """
    parts = key.split('.')
    if parts[0] == STEM:
        return key
    if parts[0] == TERMINAL:
        return '.'.join([supernet_terminal(arch.blocks[-1].node)] + parts[1:])
    if parts[0] == BLOCKS and len(parts) > 3 and parts[1].isdigit() and int(
            parts[1]) < len(arch.blocks):
        blk = arch.blocks[int(parts[1])]
        if parts[2] == HEAD:
            return '.'.join(
                [candidate(supernet_head(blk.node, blk.src), blk.head_op)] +
                parts[3:])
        if parts[2] == LAYERS and parts[3].isdigit() and int(
                parts[3]) < len(blk.stack_ops) and blk.layer_ids:
            k = int(parts[3])
            return '.'.join([
                candidate(
                    supernet_layer(blk.node, blk.layer_ids[k]),
                    blk.stack_ops[k])
            ] + parts[4:])
    raise ValueError(f'unexpected subnet key {key!r}: not a DenseNASNet '
                     'parameter of this architecture')
