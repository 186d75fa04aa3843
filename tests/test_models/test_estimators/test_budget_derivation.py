"""Budget-constrained derivation (issue 23): exact against brute force.

Small spaces are enumerated completely (every path x every op choice on
it); the dynamic programme must return the same optimum (objective and cost)
for many budgets, never exceed a budget, equal the unconstrained maximum
without a budget, and its front must be the brute-force Pareto set. Costs
are the estimator's (FLOPs) and random per-candidate costs (no ties).
"""
import dataclasses
import itertools
import math
from typing import Dict, List, Tuple

import numpy as np
import pytest
import torch

from densenas_mm.models.estimators import ChainedLatencyEstimator
from densenas_mm.models.estimators.budget_derivation import (
    BudgetError, arch_logp, best_under, log_probs, pareto_front, point_arch,
    prune)
from densenas_mm.search_space import SearchSpace, SpaceGraph, load_preset
from densenas_mm.search_space.naming import (head_alias, layer_alias,
                                             route_alias)
from densenas_mm.structures import derive_arch

Net = Tuple[float, float, Tuple[int, ...], Dict[str, int]]


def random_params(space: SearchSpace, graph: SpaceGraph, seed: int,
                  std: float = 1.5) -> Dict[str, torch.Tensor]:
    """Random alphas / betas for every mixed op and route with choices."""
    gen = torch.Generator().manual_seed(seed)
    params = {}
    for i in graph.nodes:
        if len(graph.outgoing[i]) > 1:
            params[route_alias(i)] = torch.randn(
                len(graph.outgoing[i]), generator=gen) * std
    for j in graph.blocks:
        for e in graph.in_edges(j):
            params[head_alias(j, e.src)] = torch.randn(
                len(space.head_ops), generator=gen) * std
        for k in range(graph.num_layers[j]):
            params[layer_alias(j, k)] = torch.randn(
                len(space.stack_ops), generator=gen) * std
    return params


def random_costs(costs, seed: int):
    """``costs`` with every candidate's cost drawn at random (> 0)."""
    gen = torch.Generator().manual_seed(seed)

    def draw(n: int) -> List[float]:
        return (torch.rand(n, generator=gen, dtype=torch.float64) * 3 +
                0.1).tolist()

    return dataclasses.replace(
        costs,
        stem=draw(1)[0],
        classifier=draw(1)[0],
        heads={a: draw(len(v)) for a, v in costs.heads.items()},
        stacks={a: draw(len(v)) for a, v in costs.stacks.items()},
        terminals={s: draw(1)[0] for s in costs.terminals},
        _cache={})


def paths(graph: SpaceGraph) -> List[List[int]]:
    out, todo = [], [[0]]
    while todo:
        path = todo.pop()
        if path[-1] == graph.terminal:
            out.append(path)
            continue
        todo += [path + [j] for j in graph.outgoing[path[-1]]]
    return out


def chained_sum(costs, graph: SpaceGraph, path: List[int],
                pick: Dict[str, int]) -> float:
    """A net's cost added in ``path_cost``'s order: per node from the last,
    ``(head + rest) + stack`` with ``stack = l0 + l1 + ...``, then
    ``(stem + C[0]) + classifier``."""
    rest = 0.0
    for src, dst in reversed(list(zip(path, path[1:]))):
        head = (costs.terminals[src] if dst == path[-1] else
                costs.heads[head_alias(dst, src)][pick[head_alias(dst,
                                                                 src)]])
        rest = head + rest
        layers = [layer_alias(src, k) for k in range(graph.num_layers[src])]
        if layers:
            stack = costs.stacks[layers[0]][pick[layers[0]]]
            for alias in layers[1:]:
                stack = stack + costs.stacks[alias][pick[alias]]
            rest = rest + stack
    return (costs.stem + rest) + costs.classifier


def brute_force(costs, space: SearchSpace, graph: SpaceGraph,
                params) -> List[Net]:
    """(cost, logp, path, choices) of every net of the space."""
    logp = log_probs(space, graph, params)
    nets = []
    for path in paths(graph):
        route_lp = sum(
            logp.get(route_alias(src), [0.0])[graph.outgoing[src].index(dst)]
            for src, dst in zip(path, path[1:]))
        aliases = []
        for src, dst in zip(path, path[1:-1]):
            aliases.append((head_alias(dst, src), costs.heads))
            aliases += [(layer_alias(dst, k), costs.stacks)
                        for k in range(graph.num_layers[dst])]
        for ks in itertools.product(
                *[range(len(table[a])) for a, table in aliases]):
            pick = {a: k for (a, _), k in zip(aliases, ks)}
            lp = route_lp + sum(logp[a][k] for a, k in pick.items())
            nets.append((chained_sum(costs, graph, path, pick), lp, tuple(path),
                         pick))
    return nets


def brute_front(nets: List[Net]) -> List[Net]:
    """Nets no other net dominates (cost <= and logp >=, one strictly)."""
    cost = np.array([n[0] for n in nets])
    logp = np.array([n[1] for n in nets])
    return [
        n for n, c, lp in zip(nets, cost, logp)
        if not np.any((cost <= c) & (logp >= lp) & ((cost < c) | (logp > lp)))
    ]


def small_spaces() -> List[SearchSpace]:
    """Two spaces of about 1500 nets: 3 paths with up to 4 stacking layers,
    9 paths with one layer per block and skip a choice."""
    demo = load_preset('densenas_demo_32').to_dict()
    tiny_a = dict(demo, name='tiny_a', widths=[12, 16, 24, 32],
                  resolutions=[16, 8, 8, 4], stages=[1, 2, 2, 3],
                  num_layers=[1, 2, 1, 0], connections=2,
                  head_ops=['mbconv_k3_t3', 'mbconv_k5_t3'])
    tiny_b = dict(demo, name='tiny_b', widths=[12, 16, 24, 32, 40],
                  resolutions=[16, 8, 8, 4, 4], stages=[1, 2, 2, 3, 3],
                  num_layers=[1, 1, 1, 1, 0], connections=3,
                  head_ops=['mbconv_k3_t3', 'mbconv_k3_t6'],
                  stack_ops=['mbconv_k3_t3', 'skip_connect'])
    return [SearchSpace.from_config(tiny_a), SearchSpace.from_config(tiny_b)]


def flops_costs(space: SearchSpace):
    return ChainedLatencyEstimator(metric='flops').space_costs(space)


CASES = [(s, seed, rnd) for s in (0, 1) for seed in (0, 1)
         for rnd in (False, True)]


@pytest.mark.parametrize('space_index,seed,random_cost', CASES)
def test_equals_brute_force(space_index, seed, random_cost):
    space = small_spaces()[space_index]
    graph = SpaceGraph(space)
    params = random_params(space, graph, seed)
    costs = flops_costs(space)
    if random_cost:
        costs = random_costs(costs, seed)
    nets = brute_force(costs, space, graph, params)
    front = pareto_front(costs, space, params, graph)
    expected = sorted(brute_front(nets), key=lambda n: n[0])
    # the front is the brute-force Pareto set (as (cost, logp) pairs; with
    # the FLOPs of two nets equal only one of them is kept)
    assert len(front) == len({(round(n[0], 9), round(n[1], 9))
                              for n in expected})
    for point, net in zip(front, expected):
        assert point.cost == net[0]
        assert point.logp == pytest.approx(net[1], rel=1e-12, abs=1e-12)
    lo, hi = min(n[0] for n in nets), max(n[0] for n in nets)
    budgets = [lo + (hi - lo) * t / 40 for t in range(41)]
    budgets += [p.cost for p in front] + [math.inf]
    for budget in budgets:
        fits = [n for n in nets if n[0] <= budget]
        best = max(fits, key=lambda n: n[1])
        got = best_under(front, budget)
        assert got.cost <= budget
        assert got.logp == pytest.approx(best[1], rel=1e-12, abs=1e-12)
        # the same net as brute force (no ties with random costs / params)
        same = [n for n in fits if abs(n[1] - got.logp) < 1e-9]
        assert any(n[0] == got.cost for n in same)
    unbounded = best_under(front, math.inf)
    assert unbounded.logp == pytest.approx(
        max(n[1] for n in nets), rel=1e-12, abs=1e-12)
    assert front[-1] is not None and unbounded == front[-1]
    with pytest.raises(BudgetError, match=f'{lo:.6g}'):
        best_under(front, lo * 0.999)


@pytest.mark.parametrize('preset', ['densenas_demo_32', 'densenas_mbv2_224'])
def test_costs_equal_path_cost(preset):
    """Every front net's DP cost is the estimator's ``path_cost`` (FLOPs;
    the latency table's in test_budget_tool), its logp the objective."""
    space = load_preset(preset)
    graph = SpaceGraph(space)
    params = random_params(space, graph, 3)
    est = ChainedLatencyEstimator(metric='flops')
    front = pareto_front(est.space_costs(space), space, params, graph)
    assert len(front) > 3
    costs = [p.cost for p in front]
    logps = [p.logp for p in front]
    assert costs == sorted(costs) and logps == sorted(logps)
    for point in front:
        arch = point_arch(space, graph, params, point)
        assert arch.path == list(point.path)
        assert est.path_cost(arch, space) == pytest.approx(point.cost,
                                                           rel=1e-9)
        assert arch_logp(space, graph, params, arch) == pytest.approx(
            point.logp, abs=1e-9)


def test_unbounded_beats_todays_derivation():
    """The joint optimum is at least as probable as Viterbi + argmax."""
    space = small_spaces()[1]
    graph = SpaceGraph(space)
    for seed in range(5):
        params = random_params(space, graph, seed)
        front = pareto_front(flops_costs(space), space, params, graph)
        today = derive_arch(space, graph, params)
        assert best_under(front, math.inf).logp >= arch_logp(
            space, graph, params, today) - 1e-12


def test_resolution_rounds_up():
    """A coarse resolution shrinks the front; no net exceeds its budget
    and every net keeps its exact cost."""
    space = small_spaces()[1]
    graph = SpaceGraph(space)
    params = random_params(space, graph, 4)
    costs = random_costs(flops_costs(space), 4)
    exact = pareto_front(costs, space, params, graph)
    coarse = pareto_front(costs, space, params, graph, resolution=1.0)
    assert 0 < len(coarse) < len(exact)
    nets = {(round(n[0], 9), round(n[1], 9))
            for n in brute_force(costs, space, graph, params)}
    assert {(round(p.cost, 9), round(p.logp, 9)) for p in coarse} <= nets
    for budget in [p.cost for p in exact]:
        try:
            got = best_under(coarse, budget)
        except BudgetError:
            continue
        assert got.cost <= budget
        assert got.logp <= best_under(exact, budget).logp + 1e-12
    with pytest.raises(ValueError, match='resolution'):
        pareto_front(costs, space, params, graph, resolution=0)


def test_prune_keeps_the_non_dominated():
    pairs = [(1.0, -3.0, 'a'), (1.0, -2.0, 'b'), (2.0, -2.0, 'c'),
             (3.0, -1.0, 'd'), (0.5, -5.0, 'e'), (2.5, -4.0, 'f')]
    assert [p[2] for p in prune(pairs)] == ['e', 'b', 'd']
    assert [p[2] for p in prune(pairs, resolution=2.0)] == ['b', 'd']


def test_params_must_fit_the_space():
    space = load_preset('densenas_demo_32')
    graph = SpaceGraph(space)
    params = random_params(space, graph, 0)
    params[head_alias(2, 1)] = torch.zeros(7)
    with pytest.raises(ValueError, match='7 entries'):
        pareto_front(flops_costs(space), space, params, graph)
    params = random_params(space, graph, 0)
    del params[layer_alias(1, 0)]
    with pytest.raises(ValueError, match='no parameter for'):
        pareto_front(flops_costs(space), space, params, graph)
