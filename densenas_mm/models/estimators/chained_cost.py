"""The chained cost of DenseNAS (method doc section 4), as pure functions.

Per mixed op the expected cost is ``sum_k w_k c_k`` over the candidates in
play. With ``H[(j, i)]`` the expected cost of block ``j``'s head branch from
``i`` (for the terminal: the 1x1 branch from ``i``) and ``T[i]`` the summed
expected cost of block ``i``'s stacking layers, nodes are processed from the
last to the first::

    C[terminal] = 0
    C[i] = T[i] + sum_{j in out(i)} p[i][j] * (H[(j, i)] + C[j])

and the expected network cost is ``stem + C[0] + classifier``. With one-hot
weights it is exactly the sum of the chosen ops' costs along the chosen path;
it is differentiable w.r.t. the op weights and the route probabilities.
"""
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

import torch
from torch import Tensor

from densenas_mm.latency.needs import space_ops
from densenas_mm.latency.signature import OpSignature
from densenas_mm.search_space import SearchSpace, SpaceGraph, naming, parse_op
from densenas_mm.structures import DerivedArch

Number = float


def mixed_op_cost(costs: Tensor, indices: Sequence[int],
                  weights: Tensor) -> Tensor:
    """Expected cost ``sum_k w_k c_k`` over the candidates in play.

    Args:
        costs (Tensor): Cost of every candidate of the mixed op.
        indices (Sequence[int]): The candidates in play.
        weights (Tensor): Their weights (same length as ``indices``).
    """
    if len(indices) != weights.numel():
        raise ValueError(f'{len(indices)} candidate indices but '
                         f'{weights.numel()} weights')
    # Gather by Python ints: indexing with a list would copy a CPU index
    # tensor to the device (a host-device sync on CUDA) on every call.
    if len(indices) == costs.numel() and list(indices) == list(
            range(costs.numel())):
        picked = costs
    else:
        picked = torch.stack([costs[i] for i in indices])
    return (weights * picked).sum()


def chained_node_costs(outgoing: Mapping[int, Sequence[int]], terminal: int,
                       route_probs: Mapping[int, Tensor],
                       head_costs: Mapping[Tuple[int, int], Tensor],
                       stack_costs: Mapping[int, Tensor]) -> Dict[int, Tensor]:
    """``C[i]`` for every node, by the recursion above.

    Args:
        outgoing (Mapping[int, Sequence[int]]): Successors of every node
            ``0 .. terminal - 1``, in the order of ``route_probs[i]``.
        terminal (int): The terminal node.
        route_probs (Mapping[int, Tensor]): ``p[i]`` over ``outgoing[i]``.
        head_costs (Mapping[tuple[int, int], Tensor]): ``H[(j, i)]`` for every
            edge ``i -> j``, terminal edges included.
        stack_costs (Mapping[int, Tensor]): ``T[i]``; absent means 0.

    Returns:
        dict[int, Tensor]: ``C[i]`` (``C[terminal]`` is the float 0).
    """
    cost: Dict[int, Any] = {terminal: 0.0}
    for i in sorted(outgoing, reverse=True):
        succ = list(outgoing[i])
        if not succ:
            continue
        probs = route_probs[i]
        if probs.numel() != len(succ):
            raise ValueError(f'node {i}: {probs.numel()} route '
                             f'probabilities for {len(succ)} successors')
        terms = torch.stack([head_costs[(j, i)] + cost[j] for j in succ])
        # dtype only: a device mismatch is a bug to report, not to hide
        cost[i] = (probs * terms.to(dtype=probs.dtype)).sum()
        if i in stack_costs:
            cost[i] = cost[i] + stack_costs[i]
    return cost


def chained_expected_cost(outgoing: Mapping[int, Sequence[int]], terminal: int,
                          route_probs: Mapping[int, Tensor],
                          head_costs: Mapping[Tuple[int, int], Tensor],
                          stack_costs: Mapping[int, Tensor], stem_cost: Tensor,
                          classifier_cost: Tensor) -> Tensor:
    """Expected network cost ``stem + C[0] + classifier``.

    Args: as :func:`chained_node_costs`, plus the stem and classifier costs.
    """
    node = chained_node_costs(outgoing, terminal, route_probs, head_costs,
                              stack_costs)
    return stem_cost + node[0] + classifier_cost


@dataclass
class SpaceCosts:
    """Per-candidate costs of one space for one metric.

    Attributes:
        stem (float): Stem cost.
        classifier (float): Classifier cost.
        heads (dict[str, list[float]]): Head alias -> cost per head op.
        head_edges (dict[str, tuple[int, int]]): Head alias -> (dst, src).
        stacks (dict[str, list[float]]): Layer alias -> cost per stack op.
        stack_blocks (dict[str, int]): Layer alias -> block.
        terminals (dict[int, float]): Source -> cost of its 1x1 branch.
        outgoing (dict[int, list[int]]): Successors of every node.
        terminal (int): The terminal node.
    """
    stem: Number
    classifier: Number
    heads: Dict[str, List[Number]]
    head_edges: Dict[str, Tuple[int, int]]
    stacks: Dict[str, List[Number]]
    stack_blocks: Dict[str, int]
    terminals: Dict[int, Number]
    outgoing: Dict[int, List[int]]
    terminal: int
    _cache: Dict[Tuple[str, torch.dtype], Dict[str, Tensor]] = field(
        default_factory=dict, repr=False)

    def tensors(self, device: torch.device,
                dtype: torch.dtype) -> Dict[str, Tensor]:
        """Alias -> cost vector tensors (plus ``'@stem'``, ``'@classifier'``
        and ``'@terminal{src}'``), built once per device and dtype."""
        key = (str(device), dtype)
        if key not in self._cache:
            make = dict(device=device, dtype=dtype)
            out = {a: torch.tensor(v, **make) for a, v in self.heads.items()}
            out.update({
                a: torch.tensor(v, **make)
                for a, v in self.stacks.items()
            })
            out['@stem'] = torch.tensor(self.stem, **make)
            out['@classifier'] = torch.tensor(self.classifier, **make)
            for src, cost in self.terminals.items():
                out[f'@terminal{src}'] = torch.tensor(cost, **make)
            self._cache[key] = out
        return self._cache[key]


def space_costs(space: SearchSpace,
                cost_fn: Callable[[OpSignature], float],
                skip_reg: bool = False,
                graph: SpaceGraph = None) -> SpaceCosts:
    """Cost of every candidate of ``space`` under ``cost_fn``.

    Skip costs what ``cost_fn`` says (a latency table's measured entry, as
    in the reference's tables; 0 without one; 0 FLOPs and params); with
    ``skip_reg`` it costs the layer's first candidate's cost / 10 (the first
    non-skip candidate, should skip be listed first).

    Args:
        space (SearchSpace): The space.
        cost_fn (callable): Signature -> cost (ms, MFLOPs, M params).
        skip_reg (bool): Regularise skip as above.
        graph (SpaceGraph, optional): The space's graph.

    Returns:
        SpaceCosts: The costs.
    """
    graph = graph or SpaceGraph(space)
    ops = space_ops(space, graph)
    stacks = {}
    for alias, sigs in ops.stacks.items():
        costs = [float(cost_fn(s)) for s in sigs]
        if skip_reg:
            first = next((c for s, c in zip(sigs, costs) if not s.is_skip),
                         0.0)
            costs = [
                first / 10 if s.is_skip else c for s, c in zip(sigs, costs)
            ]
        stacks[alias] = costs
    return SpaceCosts(
        stem=float(cost_fn(ops.stem)),
        classifier=float(cost_fn(ops.classifier)),
        heads={
            a: [float(cost_fn(s)) for s in sigs]
            for a, sigs in ops.heads.items()
        },
        head_edges=dict(ops.head_edges),
        stacks=stacks,
        stack_blocks=dict(ops.stack_blocks),
        terminals={
            src: float(cost_fn(s))
            for src, s in ops.terminals.items()
        },
        outgoing={
            i: list(graph.outgoing[i])
            for i in graph.nodes if i != graph.terminal
        },
        terminal=graph.terminal)


def expected_cost_from(costs: SpaceCosts, op_distribution: Callable,
                       route_probs: Callable) -> Tensor:
    """Expected cost under a mutator's distributions.

    Args:
        costs (SpaceCosts): Per-candidate costs.
        op_distribution (callable): ``alias -> (indices, weights)``.
        route_probs (callable): ``src -> probabilities over outgoing[src]``.

    Returns:
        Tensor: Scalar expected cost, differentiable w.r.t. both.
    """
    probs = {i: route_probs(i) for i in costs.outgoing if costs.outgoing[i]}
    ref = probs[0]
    vec = costs.tensors(ref.device, ref.dtype)
    head: Dict[Tuple[int, int], Tensor] = {}
    for alias, edge in costs.head_edges.items():
        idx, w = op_distribution(alias)
        head[edge] = mixed_op_cost(vec[alias], idx, w)
    for src in costs.terminals:
        head[(costs.terminal, src)] = vec[f'@terminal{src}']
    stack: Dict[int, Tensor] = {}
    for alias, block in costs.stack_blocks.items():
        idx, w = op_distribution(alias)
        layer = mixed_op_cost(vec[alias], idx, w)
        stack[block] = stack[block] + layer if block in stack else layer
    return chained_expected_cost(costs.outgoing, costs.terminal, probs, head,
                                 stack, vec['@stem'], vec['@classifier'])


def path_choices(space: SearchSpace, graph: SpaceGraph,
                 arch: DerivedArch) -> Tuple[List[int], Dict[str, int]]:
    """Where a derived net lies in ``space``: its node path and the chosen
    candidate of every head branch and stacking layer on it.

    A block's node is its ``node`` (archs derived by a search) or the only
    node of its width (e.g. a published ``net_config``); its kept stacking
    ops sit at ``layer_ids`` or, without them (a ``net_config`` does not
    say), at the block's first layers; every other layer is skip.

    Raises:
        ValueError: If the net does not lie in the space, naming the block.
    """
    path, choice = [0], {}
    for i, blk in enumerate(arch.blocks):
        where = f'block {i} ({blk.c_in}->{blk.c_out})'
        node = blk.node
        if node is None:
            nodes = [j for j in graph.blocks if graph.widths[j] == blk.c_out]
            if len(nodes) != 1:
                raise ValueError(
                    f'{where}: {len(nodes)} nodes of width {blk.c_out} in '
                    f'space {space.name!r}; the architecture needs node ids')
            node = nodes[0]
        src = path[-1]
        if node not in graph.outgoing[src]:
            raise ValueError(f'{where}: no edge {src} -> {node} in space '
                             f'{space.name!r}')
        if blk.head_op not in space.head_ops:
            raise ValueError(f'{where}: head op {blk.head_op!r} is not a '
                             f'candidate of space {space.name!r}')
        choice[naming.head_alias(node, src)] = space.head_ops.index(
            blk.head_op)
        layers = (list(blk.layer_ids) if blk.layer_ids is not None else
                  list(range(len(blk.stack_ops))))
        n_layers = graph.num_layers[node]
        skip = next((k for k, op in enumerate(space.stack_ops)
                     if parse_op(op).kind == 'skip'), None)
        if max(layers, default=-1) >= n_layers or (
                len(layers) < n_layers and skip is None):
            raise ValueError(
                f'{where}: {len(blk.stack_ops)} stacking ops do not fit the '
                f'{n_layers} stacking layers of node {node}')
        kept = dict(zip(layers, blk.stack_ops))
        for layer in range(n_layers):
            op = kept.get(layer)
            choice[naming.layer_alias(node, layer)] = (
                skip if op is None else space.stack_ops.index(op))
        path.append(node)
    if graph.terminal not in graph.outgoing[path[-1]]:
        raise ValueError(f'node {path[-1]} does not reach the terminal')
    return path + [graph.terminal], choice


def path_cost(costs: SpaceCosts, space: SearchSpace, graph: SpaceGraph,
              arch: DerivedArch) -> Tensor:
    """The chained cost the search assigns to a derived net's path.

    :func:`expected_cost_from` with one-hot op and route distributions on
    the net's path (:func:`path_choices`): the sum of the path's entries,
    skipped stacking layers included at their skip cost, as the reference
    code's own estimate of a derived net.
    """
    path, choice = path_choices(space, graph, arch)
    nxt = dict(zip(path, path[1:]))
    one = torch.ones(1, dtype=torch.float64)

    def op_distribution(alias: str):
        return [choice.get(alias, 0)], one

    def route_probs(src: int) -> Tensor:
        targets = costs.outgoing[src]
        probs = torch.zeros(len(targets), dtype=torch.float64)
        probs[targets.index(nxt[src]) if src in nxt else 0] = 1.0
        return probs

    return expected_cost_from(costs, op_distribution, route_probs)
