"""Budget-constrained derivation: the most probable net under a cost budget.

After a search, alpha and beta give every architecture of the space a joint
log-probability (the objective)::

    logp(net) = sum over the path's edges i -> j of log softmax(beta_i)[j]
              + sum over the path's blocks of
                    log softmax(alpha_head)[head op]
                  + sum over the block's stacking layers of
                    log softmax(alpha_layer)[op]

Every stacking layer of a block on the path counts, skip included: skip is
one of the candidates the search chooses between (a layer the net drops is a
layer whose chosen op is skip). Aliases with one choice (a node with one
target) count 0. The cost of a net is the chained cost the search assigns
to its path (:func:`~.chained_cost.path_cost`): ``stem + classifier`` plus,
per path node, its stacking layers' costs (skip at its skip cost) and the
chosen head branch (or terminal branch) to the next node, all taken from
:class:`~.chained_cost.SpaceCosts`, so a calibrated table is used as it is.

:func:`pareto_front` finds every Pareto-optimal (cost, logp) net exactly, by
dynamic programming from the terminal back to node 0 over Pareto sets with
back-pointers: per block the stacking layers' per-layer sets are combined
(Minkowski sum, then dominated pairs pruned), per edge the head op choices
are added to the successor's set, and a node's set is the pruned union over
its edges. A pair is dominated when another costs no more and is at least as
probable. Costs are added in the order :func:`~.chained_cost.path_cost` adds
them (``(head + rest) + stack``, layers first to last, then
``(stem + C[0]) + classifier``), so the front's costs equal ``path_cost`` to
the last bit. :func:`best_under` reads the optimum for a budget off the
front: the most probable net with ``cost <= budget``.

With ``resolution = r`` the pruning compares costs rounded up to multiples of
``r``: within one such cost cell only the most probable pair survives, which
caps a set at ``range / r`` pairs. Points keep their exact costs, and a
budget is checked on them, so no returned net exceeds its budget; what can
be missed is a net that is cheaper by less than ``r`` per pruning step on
its way (a block's layers and each node: at most ``layers + nodes`` steps):
the returned net is at least as probable as the exact optimum of budget
``T - steps * r``. The default (no resolution) is exact.
"""
import math
from dataclasses import dataclass
from typing import (Any, Callable, Dict, List, Mapping, Optional, Sequence,
                    Tuple)

import torch
import torch.nn.functional as F

from densenas_mm.search_space import SearchSpace, SpaceGraph
from densenas_mm.search_space.naming import (head_alias, layer_alias,
                                             route_alias)
from densenas_mm.structures import DerivedArch, derive_arch
from densenas_mm.structures.derivation import alias_choices, check_params
from .chained_cost import SpaceCosts, path_choices

# A back-pointer tree: ('op', alias, index), ('route', src, dst) or
# ('+', left, right); None for nothing chosen.
Trace = Any
Pair = Tuple[float, float, Trace]


class BudgetError(ValueError):
    """A budget no net of the space fits (below the cheapest net)."""


@dataclass(frozen=True)
class FrontPoint:
    """One Pareto-optimal net: its cost, log-probability and choices.

    Attributes:
        cost (float): Its chained path cost (``path_cost``).
        logp (float): Its joint log-probability under alpha and beta.
        path (tuple[int, ...]): Node path, 0 to the terminal.
        choices (dict[str, int]): Candidate index of every head branch and
            stacking layer on the path.
    """
    cost: float
    logp: float
    path: Tuple[int, ...]
    choices: Dict[str, int]


def log_probs(space: SearchSpace, graph: SpaceGraph,
              params: Mapping[str, Any]) -> Dict[str, List[float]]:
    """``log softmax`` (float64) of every mixed op and route of ``space``.

    Aliases with one choice get ``[0.0]``.

    Raises:
        ValueError: For parameters that do not fit the space, or a mixed op
            or route with several choices but no parameter.
    """
    check_params(space, graph, params)
    aliases = [route_alias(i) for i in graph.nodes if graph.outgoing[i]]
    for j in graph.blocks:
        aliases += [head_alias(j, e.src) for e in graph.in_edges(j)]
        aliases += [layer_alias(j, k) for k in range(graph.num_layers[j])]
    out = {}
    for alias in aliases:
        n = len(alias_choices(space, graph, alias))
        value = params.get(alias)
        if value is None and n > 1:
            raise ValueError(f'no parameter for {alias} ({n} choices): the '
                             'parameters do not cover the space')
        out[alias] = ([0.0] if value is None else F.log_softmax(
            torch.as_tensor(value).detach().double().cpu().reshape(-1),
            0).tolist())
    return out


def prune(pairs: List[Pair], resolution: Optional[float] = None) -> List[Pair]:
    """The pairs no other pair dominates, cheapest first.

    Args:
        pairs (list): ``(cost, logp, trace)`` pairs.
        resolution (float, optional): Compare costs rounded up to multiples
            of this (see the module doc); None compares them exactly.
    """

    def key(pair: Pair) -> Tuple[float, float]:
        cost = pair[0]
        if resolution:
            cost = math.ceil(cost / resolution) * resolution
        return cost, -pair[1]

    kept: List[Pair] = []
    best = -math.inf
    for pair in sorted(pairs, key=key):
        if pair[1] > best:
            kept.append(pair)
            best = pair[1]
    return kept


def prune_cells(pairs: List[Pair], resolution: float) -> List[Pair]:
    """The most probable pair of every cost cell (costs rounded up to
    multiples of ``resolution``), cheapest cell first: no pruning across
    cells, so sets keep the expensive nets a cost window's lower bound
    needs (:func:`window_best`)."""
    best: Dict[int, Pair] = {}
    for pair in pairs:
        cell = math.ceil(pair[0] / resolution)
        if cell not in best or pair[1] > best[cell][1]:
            best[cell] = pair
    return [best[c] for c in sorted(best)]


#: ``prune(pairs, resolution)``: :func:`prune` or :func:`prune_cells`.
Pruner = Callable[[List[Pair], Optional[float]], List[Pair]]


def minkowski(left: List[Pair], right: List[Pair],
              resolution: Optional[float],
              pruner: Pruner = prune) -> List[Pair]:
    """Pruned set of ``left + right`` (costs added as ``left + right``)."""
    return pruner([(a[0] + b[0], a[1] + b[1], ('+', a[2], b[2]))
                   for a in left for b in right], resolution)


def _options(costs: Sequence[float], logp: Sequence[float], alias: str,
             resolution: Optional[float],
             pruner: Pruner = prune) -> List[Pair]:
    return pruner([(float(c), lp, ('op', alias, k))
                   for k, (c, lp) in enumerate(zip(costs, logp))],
                  resolution)


def _stack_set(costs: SpaceCosts, graph: SpaceGraph, node: int,
               logp: Mapping[str, List[float]],
               resolution: Optional[float],
               pruner: Pruner = prune) -> Optional[List[Pair]]:
    """Pruned set of a block's stacking layers (None for no layers)."""
    out = None
    for k in range(graph.num_layers[node]):
        alias = layer_alias(node, k)
        layer = _options(costs.stacks[alias], logp[alias], alias, resolution,
                         pruner)
        out = layer if out is None else minkowski(out, layer, resolution,
                                                  pruner)
    return out


def _unfold(trace: Trace, path: Dict[int, int], choices: Dict[str, int]):
    stack = [trace]
    while stack:
        item = stack.pop()
        if item is None:
            continue
        if item[0] == '+':
            stack += [item[1], item[2]]
        elif item[0] == 'op':
            choices[item[1]] = item[2]
        else:
            path[item[1]] = item[2]


def _point(pair: Pair, terminal: int) -> FrontPoint:
    nxt: Dict[int, int] = {}
    choices: Dict[str, int] = {}
    _unfold(pair[2], nxt, choices)
    path = [0]
    while path[-1] != terminal:
        path.append(nxt[path[-1]])
    return FrontPoint(pair[0], pair[1], tuple(path), choices)


def pareto_front(costs: SpaceCosts,
                 space: SearchSpace,
                 params: Mapping[str, Any],
                 graph: Optional[SpaceGraph] = None,
                 resolution: Optional[float] = None) -> List[FrontPoint]:
    """Every Pareto-optimal net of ``space``: cost vs joint logp.

    Args:
        costs (SpaceCosts): Per-candidate costs
            (``estimator.space_costs(space, metric)``).
        space (SearchSpace): The search space.
        params (Mapping[str, Tensor]): Alias -> alpha / beta logits.
        graph (SpaceGraph, optional): The space's graph.
        resolution (float, optional): Cost resolution of the pruning (see
            the module doc); None (default) is exact.

    Returns:
        list[FrontPoint]: Cheapest (and least probable) first; every net is
        strictly more probable than every cheaper one.

    Raises:
        ValueError: For parameters that do not fit the space, or a
            resolution <= 0.
    """
    if resolution is not None and not resolution > 0:
        raise ValueError(f'resolution must be > 0, got {resolution}')
    graph = graph or SpaceGraph(space)
    pairs = _net_pairs(costs, space, params, graph, resolution, prune)
    return [_point(p, graph.terminal) for p in prune(pairs, resolution)]


def _net_pairs(costs: SpaceCosts, space: SearchSpace,
               params: Mapping[str, Any], graph: SpaceGraph,
               resolution: Optional[float], pruner: Pruner) -> List[Pair]:
    """Node 0's pruned set of whole nets, ``(cost, logp, trace)``: the
    dynamic programme of the module doc with ``pruner``."""
    logp = log_probs(space, graph, params)
    sets: Dict[int, List[Pair]] = {graph.terminal: [(0.0, 0.0, None)]}
    for i in sorted(graph.nodes, reverse=True):
        succ = graph.outgoing[i]
        if not succ:
            continue
        route = logp.get(route_alias(i), [0.0])
        merged: List[Pair] = []
        for j, lp_route in zip(succ, route):
            step = ('route', i, j)
            if j == graph.terminal:
                heads = [(float(costs.terminals[i]), lp_route, step)]
            else:
                alias = head_alias(j, i)
                heads = [(c, lp + lp_route, ('+', step, t))
                         for c, lp, t in _options(costs.heads[alias],
                                                  logp[alias], alias,
                                                  resolution, pruner)]
            merged += [(h[0] + r[0], h[1] + r[1], ('+', h[2], r[2]))
                       for h in heads for r in sets[j]]
        merged = pruner(merged, resolution)
        stack = _stack_set(costs, graph, i, logp, resolution, pruner)
        sets[i] = merged if stack is None else minkowski(
            merged, stack, resolution, pruner)
    return [((costs.stem + c) + costs.classifier, lp, t)
            for c, lp, t in sets[0]]


def window_best(costs: SpaceCosts,
                space: SearchSpace,
                params: Mapping[str, Any],
                low: float,
                high: float,
                graph: Optional[SpaceGraph] = None,
                resolution: Optional[float] = None) -> Optional[FrontPoint]:
    """The most probable net whose cost lies in ``[low, high]``.

    A budget is spent, not only respected, when the net must cost at
    least ``low`` too: the most probable net under a budget
    (:func:`best_under`) can be far cheaper than the budget when the search
    put little probability between them. A lower bound breaks the Pareto
    pruning (a cheaper, more probable partial net no longer dominates), so
    the programme keeps the most probable partial net of every cost cell of
    width ``resolution`` instead (:func:`prune_cells`). The returned net's
    exact cost lies in the window (checked on exact costs); it is at least
    as probable as every net whose cost lies in ``[low + e, high - e]``,
    ``e = steps * resolution`` with ``steps`` the pruning steps of a path
    (its nodes and stacking layers), and exactly the optimum when no two
    partial nets share a cell.

    Args:
        costs (SpaceCosts): Per-candidate costs.
        space (SearchSpace): The search space.
        params (Mapping[str, Tensor]): Alias -> alpha / beta logits.
        low (float): Least cost.
        high (float): Most cost (the budget).
        graph (SpaceGraph, optional): The space's graph.
        resolution (float, optional): Cell width (default
            ``(high - low) / 100``).

    Returns:
        FrontPoint, optional: The net; None when no net lies in the window.

    Raises:
        ValueError: For ``low > high`` or a resolution <= 0.
    """
    if not low <= high:
        raise ValueError(f'the window needs low <= high, got [{low}, {high}]')
    resolution = resolution or (high - low) / 100 or high * 1e-4
    if not resolution > 0:
        raise ValueError(f'resolution must be > 0, got {resolution}')
    graph = graph or SpaceGraph(space)
    inside = [
        p for p in _net_pairs(costs, space, params, graph, resolution,
                              prune_cells) if low <= p[0] <= high
    ]
    if not inside:
        return None
    return _point(max(inside, key=lambda p: p[1]), graph.terminal)


def best_under(front: Sequence[FrontPoint], budget: float) -> FrontPoint:
    """The most probable net of ``front`` that costs at most ``budget``.

    Raises:
        BudgetError: If even the cheapest net costs more, naming its cost.
    """
    fits = [p for p in front if p.cost <= budget]
    if not fits:
        cheapest = min(p.cost for p in front)
        raise BudgetError(
            f'budget {budget:g} is below the cheapest net of the space, '
            f'which costs {cheapest:.6g}: ask for at least that')
    return max(fits, key=lambda p: p.logp)


def point_arch(space: SearchSpace,
               graph: SpaceGraph,
               params: Mapping[str, Any],
               point: FrontPoint,
               meta: Optional[Dict[str, Any]] = None) -> DerivedArch:
    """The :class:`DerivedArch` of a front point (routes and ops off its
    path keep their argmax, as in :func:`derive_arch`)."""
    return derive_arch(space, graph, params, list(point.path), meta,
                       point.choices)


def arch_logp(space: SearchSpace,
              graph: SpaceGraph,
              params: Mapping[str, Any],
              arch: DerivedArch,
              logp: Optional[Mapping[str, List[float]]] = None) -> float:
    """The joint log-probability (the objective above) of any net of
    ``space``, e.g. today's derivation (Viterbi path, argmax ops).

    Raises:
        ValueError: If the net does not lie in the space.
    """
    logp = logp or log_probs(space, graph, params)
    path, choice = path_choices(space, graph, arch)
    total = 0.0
    for src, dst in zip(path, path[1:]):
        total += logp.get(route_alias(src),
                          [0.0])[graph.edge(src, dst).out_index]
    for alias, k in choice.items():
        total += logp[alias][k]
    return total
