"""Brute force over small DenseNAS spaces (the budget derivation's tests):
every net of a space (every path x every op choice on it), its chained
cost, its joint log-probability and the Pareto set."""
import dataclasses
import itertools
from typing import Dict, List, Tuple

import numpy as np
import torch

from densenas_mm.models.estimators.budget_derivation import log_probs
from densenas_mm.search_space import SearchSpace, SpaceGraph, load_preset
from densenas_mm.search_space.naming import (head_alias, layer_alias,
                                             route_alias)

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
