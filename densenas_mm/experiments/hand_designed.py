"""The hand-designed baseline: uniform MobileNetV2-like nets of a space.

A hand-designed net in the searched-vs-random protocol
(:mod:`.search_vs_random`) is a **uniform configuration** of the search
space: one head op in every block, one stacking op in every kept stacking
layer, the same depth everywhere; its widths come from the blocks its
path runs through (a DenseNAS space has no width multiplier: choosing the
path through narrower or wider blocks is how its widths scale). The rule:

* ops: ``mbconv_k3_t6`` where the space's list has it, else the 3x3 MBConv
  with the largest expansion, else the list's first op (skips never
  count): for the demo spaces the heads are ``mbconv_k3_t6`` and the
  stacking layers ``mbconv_k3_t3`` (their stacking list has no t6);
* candidates: every block path of the space x every depth ``d`` from 0 to
  the largest stacking count (a block on the path keeps ``min(d, its
  stacking layers)`` layers of the stacking op, the rest skipped);
* for each target latency, the candidate whose predicted latency (the
  pool's estimator number) is closest (ties: the fewer-layer, then the
  earlier path).

The demo space has 9 paths x 2 depths, the wide demo space 27 x 4; spaces
with more than ``max_configs`` candidates are refused (the ResNet space
has 540,225 paths).
"""
from dataclasses import dataclass
from itertools import product
from typing import Any, Dict, List, Optional, Sequence

from densenas_mm.search_space.grammar import SKIP, parse_op
from densenas_mm.search_space.naming import head_alias, layer_alias
from densenas_mm.structures import DerivedArch, derive_arch

#: The MobileNetV2 op a uniform net prefers.
MBV2_OP = 'mbconv_k3_t6'


def uniform_op(ops: Sequence[str]) -> str:
    """The op a uniform net uses from a candidate list (module doc rule).

    Raises:
        ValueError: If the list holds only skips.
    """
    ops = [o for o in ops if o != SKIP]
    if not ops:
        raise ValueError('a uniform net needs a non-skip op; the list has '
                         'only skips')
    if MBV2_OP in ops:
        return MBV2_OP
    k3 = [o for o in ops
          if parse_op(o).kind == 'mbconv' and parse_op(o).kernel == 3]
    if k3:
        return max(k3, key=lambda o: parse_op(o).expansion)
    return ops[0]


def all_paths(graph: Any) -> List[List[int]]:
    """Every block path of ``graph``, stem to terminal (depth first, the
    nearer successor first)."""
    out: List[List[int]] = []

    def walk(path: List[int]) -> None:
        node = path[-1]
        if node == graph.terminal:
            out.append(list(path))
            return
        for nxt in graph.outgoing[node]:
            walk(path + [nxt])

    walk([0])
    return out


@dataclass
class UniformNet:
    """One uniform candidate.

    Attributes:
        arch (DerivedArch): The net.
        latency (float): Its predicted latency (ms).
        depth (int): Stacking layers per block (capped per block).
        head_op (str): The head op.
        stack_op (str): The stacking op.
    """
    arch: DerivedArch
    latency: float
    depth: int
    head_op: str
    stack_op: str


def uniform_nets(space: Any,
                 graph: Any,
                 latency_of: Any,
                 head_op: Optional[str] = None,
                 stack_op: Optional[str] = None,
                 max_configs: int = 100000) -> List[UniformNet]:
    """Every uniform candidate of a space with its predicted latency.

    Args:
        space (SearchSpace): The space.
        graph (SpaceGraph): Its graph.
        latency_of (Callable[[DerivedArch], float]): Predicted latency.
        head_op (str, optional): Override the head op (default:
            :func:`uniform_op` of the space's head ops).
        stack_op (str, optional): Override the stacking op.
        max_configs (int): Refuse spaces with more candidates.

    Raises:
        ValueError: For ops not in the space, or too many candidates.
    """
    head = head_op or uniform_op(space.head_ops)
    stack = stack_op or uniform_op(space.stack_ops)
    if head not in space.head_ops:
        raise ValueError(f'head op {head!r} is not among the space\'s head '
                         f'ops {list(space.head_ops)}')
    if stack not in space.stack_ops or stack == SKIP:
        raise ValueError(f'stacking op {stack!r} is not a non-skip op of '
                         f'the space\'s stacking ops {list(space.stack_ops)}')
    skip = space.stack_ops.index(SKIP) if SKIP in space.stack_ops else None
    deepest = max(graph.num_layers)
    # without a skip candidate every stacking layer runs: one depth
    depths = list(range(deepest + 1)) if skip is not None else [deepest]
    n = graph.num_paths() * len(depths)
    if n > max_configs:
        raise ValueError(
            f'space {space.name!r} has {graph.num_paths()} paths x '
            f'{len(depths)} depths = {n} uniform nets, more than '
            f'max_configs={max_configs}: the hand-designed baseline '
            'enumerates them all')
    h, s = space.head_ops.index(head), space.stack_ops.index(stack)
    out = []
    for depth, path in product(depths, all_paths(graph)):
        choices: Dict[str, int] = {}
        for j in graph.blocks:
            for edge in graph.in_edges(j):
                choices[head_alias(j, edge.src)] = h
            for layer in range(graph.num_layers[j]):
                choices[layer_alias(j, layer)] = s if layer < depth else skip
        arch = derive_arch(space, graph, {}, path=path, choices=choices,
                           meta=dict(note='uniform hand-designed baseline',
                                     depth=depth, head_op=head,
                                     stack_op=stack))
        out.append(UniformNet(arch, float(latency_of(arch)), depth, head,
                              stack))
    return out


def closest_uniform(nets: Sequence[UniformNet], target: float) -> UniformNet:
    """The candidate whose latency is closest to ``target`` (ties: fewer
    layers, then the earlier path: ``nets`` is in that order)."""
    if not nets:
        raise ValueError('no uniform nets to choose from')
    return min(nets, key=lambda u: abs(u.latency - target))


__all__ = [
    'MBV2_OP', 'UniformNet', 'all_paths', 'closest_uniform', 'uniform_nets',
    'uniform_op'
]
