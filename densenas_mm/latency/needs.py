"""Which op signatures a search space or a derived net needs.

:func:`space_ops` lists, for every searchable part of a space, the
signature of each candidate at its real input shape: the stem, every head
candidate per edge (input = the source node's width / resolution, stride from
the edge), every stacking-layer candidate per block, every terminal 1x1
branch (``conv1_1`` from the source width to ``last_dim``) and the classifier
(pooling + ``Linear(last_dim, num_classes)``). :func:`arch_parts` does the
same for the fixed path of a :class:`~densenas_mm.structures.DerivedArch`.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from densenas_mm.search_space import SearchSpace, SpaceGraph, naming
from densenas_mm.search_space.grammar import CLASSIFIER, stem_op_name
from densenas_mm.structures import DerivedArch
from .signature import OpSignature


@dataclass
class SpaceOps:
    """The signatures of every candidate of a search space.

    Attributes:
        stem (OpSignature): Stem conv + fixed stem ops.
        heads (dict[str, list[OpSignature]]): Head alias -> one signature
            per ``space.head_ops`` candidate.
        stacks (dict[str, list[OpSignature]]): Layer alias -> one signature
            per ``space.stack_ops`` candidate (skip included, flagged by
            :attr:`OpSignature.is_skip`; a table may hold its measured
            cost, 0 otherwise).
        head_edges (dict[str, tuple[int, int]]): Head alias -> (dst, src).
        stack_blocks (dict[str, int]): Layer alias -> block.
        terminals (dict[int, OpSignature]): Source node -> its terminal
            ``conv1_1`` branch.
        classifier (OpSignature): Pooling + linear classifier.
    """
    stem: OpSignature
    heads: Dict[str, List[OpSignature]]
    stacks: Dict[str, List[OpSignature]]
    head_edges: Dict[str, Tuple[int, int]]
    stack_blocks: Dict[str, int]
    terminals: Dict[int, OpSignature]
    classifier: OpSignature

    def unique(self, include_skip: bool = False) -> List[OpSignature]:
        """Distinct signatures in a stable order (skip left out)."""
        seen: Dict[str, OpSignature] = {}
        ordered = [self.stem]
        for sigs in list(self.heads.values()) + list(self.stacks.values()):
            ordered.extend(sigs)
        ordered.extend(self.terminals.values())
        ordered.append(self.classifier)
        for sig in ordered:
            if sig.is_skip and not include_skip:
                continue
            seen.setdefault(sig.key, sig)
        return list(seen.values())


def space_ops(space: SearchSpace,
              graph: Optional[SpaceGraph] = None,
              batch_size: int = 1,
              dtype: str = 'float32',
              memory_format: str = 'contiguous') -> SpaceOps:
    """Signatures of every candidate op of ``space``.

    Args:
        space (SearchSpace): The space.
        graph (SpaceGraph, optional): Its graph (built when not given).
        batch_size (int): Batch size of the signatures.
        dtype (str): Dtype of the signatures.
        memory_format (str): Memory format of the signatures.

    Returns:
        SpaceOps: The signatures, keyed by mutable alias.
    """
    graph = graph or SpaceGraph(space)
    setting = dict(
        batch_size=batch_size, dtype=dtype, memory_format=memory_format)
    widths, res = graph.widths, graph.resolutions

    def sig(op: str, c_in: int, c_out: int, stride: int,
            size: int) -> OpSignature:
        return OpSignature(op, c_in, c_out, stride, size, size, **setting)

    heads, head_edges = {}, {}
    for edge in graph.head_edges:
        alias = naming.head_alias(edge.dst, edge.src)
        heads[alias] = [
            sig(op, widths[edge.src], widths[edge.dst], edge.stride,
                res[edge.src]) for op in space.head_ops
        ]
        head_edges[alias] = (edge.dst, edge.src)
    stacks, stack_blocks = {}, {}
    for block in graph.blocks:
        for layer in range(graph.num_layers[block]):
            alias = naming.layer_alias(block, layer)
            stacks[alias] = [
                sig(op, widths[block], widths[block], 1, res[block])
                for op in space.stack_ops
            ]
            stack_blocks[alias] = block
    terminals = {
        edge.src:
        sig('conv1_1', widths[edge.src], space.last_dim, edge.stride,
            res[edge.src])
        for edge in graph.terminal_edges
    }
    return SpaceOps(
        stem=sig(
            stem_op_name(space.stem_ops), space.in_channels,
            space.stem_channels, space.stem_stride, space.input_size),
        heads=heads,
        stacks=stacks,
        head_edges=head_edges,
        stack_blocks=stack_blocks,
        terminals=terminals,
        classifier=sig(CLASSIFIER, space.last_dim, space.num_classes, 1,
                       res[graph.terminal]))


def arch_parts(arch: DerivedArch,
               batch_size: int = 1,
               dtype: str = 'float32',
               memory_format: str = 'contiguous'
               ) -> List[Tuple[str, List[OpSignature]]]:
    """The ops of a derived net, grouped as stem / blocks / terminal / fc.

    Args:
        arch (DerivedArch): The net.
        batch_size (int): Batch size of the signatures.
        dtype (str): Dtype of the signatures.
        memory_format (str): Memory format of the signatures.

    Returns:
        list[tuple[str, list[OpSignature]]]: ``('stem', [...])``,
        ``('block1', [head, stack...])``, ..., ``('terminal', [conv1_1])``
        (only when the net keeps it) and ``('classifier', [...])``, in
        forward order.
    """
    setting = dict(
        batch_size=batch_size, dtype=dtype, memory_format=memory_format)
    size = arch.input_size
    parts = [('stem', [
        OpSignature(
            stem_op_name(arch.stem_ops), arch.in_channels, arch.stem_channels,
            arch.stem_stride, size, size, **setting)
    ])]
    size = (size - 1) // arch.stem_stride + 1
    for idx, blk in enumerate(arch.blocks, start=1):
        head = OpSignature(blk.head_op, blk.c_in, blk.c_out, blk.stride, size,
                           size, **setting)
        size = head.out_hw[0]
        ops = [head] + [
            OpSignature(op, blk.c_out, blk.c_out, 1, size, size, **setting)
            for op in blk.stack_ops
        ]
        name = f'block{idx}' + (f'_node{blk.node}'
                                if blk.node is not None else '')
        parts.append((name, ops))
    width = arch.blocks[-1].c_out
    if arch.last_dim is not None:
        parts.append(('terminal', [
            OpSignature('conv1_1', width, arch.last_dim, 1, size, size,
                        **setting)
        ]))
        width = arch.last_dim
    parts.append(('classifier', [
        OpSignature(CLASSIFIER, width, arch.num_classes, 1, size, size,
                    **setting)
    ]))
    return parts
