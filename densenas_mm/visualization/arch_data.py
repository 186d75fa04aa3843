"""Numbers behind the DenseNAS pictures, independent of matplotlib.

An :class:`ArchState` is a snapshot of a search: the supernet graph, the
op distributions softmax(alpha) per mixed op, the path distributions
softmax(beta) per source block and the derived block path. It is built from
a live mutator (:func:`arch_state_from_mutator`, used by the hook), from a
checkpoint's state dict (:func:`arch_state_from_state_dict`, used by
``tools/analysis/plot_arch.py``) or from a derived architecture alone
(:func:`arch_state_from_arch`: one-hot, no search distributions).
"""
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from densenas_mm.search_space import SearchSpace, SpaceGraph
from densenas_mm.search_space.naming import (head_alias, layer_alias,
                                             route_alias)

ARCH_PARAM_KEY = '_arch_params.'


def softmax(x: Sequence[float]) -> np.ndarray:
    """Numerically stable softmax of a 1-D sequence."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max())
    return e / e.sum()


def entropy(p: Sequence[float]) -> float:
    """Entropy (nats) of a probability vector."""
    p = np.asarray(p, dtype=np.float64)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


@dataclass
class ArchState:
    """Snapshot of the architecture distributions of a search.

    Attributes:
        graph (SpaceGraph): The supernet graph.
        op_probs (dict): Mixed-op alias -> probabilities over its choices.
        op_choices (dict): Mixed-op alias -> candidate op names.
        route_probs (dict): Source node -> probabilities over
            ``graph.outgoing[src]`` (sources with one target are absent).
        path (list[int]): Derived block path, node 0 to the terminal.
        ops (dict): Node on the path -> (head op, [stacking ops]) chosen.
    """
    graph: SpaceGraph
    op_probs: Dict[str, np.ndarray]
    op_choices: Dict[str, List[str]]
    route_probs: Dict[int, np.ndarray]
    path: List[int]
    ops: Dict[int, Tuple[str, List[str]]] = field(default_factory=dict)

    def edge_probs(self) -> Dict[Tuple[int, int], float]:
        """p_ij of every edge (1.0 where the source has one target)."""
        return edge_probs(self.graph, self.route_probs)

    def path_edges(self) -> List[Tuple[int, int]]:
        """The edges of the derived path."""
        return list(zip(self.path, self.path[1:]))

    def head_rows(self) -> List[str]:
        """Aliases of the searchable head branches, by block then source."""
        return [
            head_alias(e.dst, e.src) for e in self.graph.head_edges
            if head_alias(e.dst, e.src) in self.op_probs
        ]

    def layer_rows(self) -> List[str]:
        """Aliases of the searchable stacking layers."""
        return [
            layer_alias(b, k) for b in self.graph.blocks
            for k in range(self.graph.num_layers[b])
            if layer_alias(b, k) in self.op_probs
        ]

    def on_path(self, alias: str) -> bool:
        """Whether a mixed op belongs to the derived architecture."""
        edges = set(self.path_edges())
        nodes = set(self.path)
        if '_head_from' in alias:
            dst, src = alias[1:].split('_head_from')
            return (int(src), int(dst)) in edges
        block = int(alias[1:3])
        return block in nodes

    def mean_entropy(self) -> Dict[str, float]:
        """Mean entropy of the op and route distributions (nats)."""
        a = [entropy(p) for p in self.op_probs.values()]
        b = [entropy(p) for p in self.route_probs.values()]
        return dict(
            alpha_entropy=float(np.mean(a)) if a else 0.0,
            beta_entropy=float(np.mean(b)) if b else 0.0)


def edge_probs(graph: SpaceGraph,
               route_probs: Dict[int, np.ndarray]
               ) -> Dict[Tuple[int, int], float]:
    """p_ij = softmax(beta_i)_j for every edge ``(i, j)`` of ``graph``."""
    out = {}
    for e in graph.edges:
        probs = route_probs.get(e.src)
        out[(e.src, e.dst)] = 1.0 if probs is None else float(
            probs[e.out_index])
    return out


def viterbi_path(graph: SpaceGraph,
                 route_probs: Dict[int, np.ndarray]) -> List[int]:
    """Max-product path over p (same rule as the mutator's derivation).

    Ties go to the nearest predecessor, as in
    :meth:`DenseRoutingMutator.derive_path`.
    """
    best = {0: 0.0}
    back: Dict[int, int] = {}
    p = edge_probs(graph, route_probs)
    for j in range(1, graph.terminal + 1):
        cands = [(best[e.src] + math.log(max(p[(e.src, j)], 1e-300)), e.src)
                 for e in graph.in_edges(j)]
        best[j], back[j] = max(cands, key=lambda c: c[0])
    path = [graph.terminal]
    while path[-1] != 0:
        path.append(back[path[-1]])
    return path[::-1]


def _choices(space: SearchSpace, alias: str) -> List[str]:
    return list(space.head_ops if '_head_from' in alias else space.stack_ops)


def _path_ops(graph: SpaceGraph, path: List[int],
              op_probs: Dict[str, np.ndarray],
              op_choices: Dict[str, List[str]]
              ) -> Dict[int, Tuple[str, List[str]]]:
    ops = {}
    for src, dst in zip(path, path[1:-1]):
        def pick(alias):
            if alias not in op_probs:
                return op_choices.get(alias, ['?'])[0]
            return op_choices[alias][int(np.argmax(op_probs[alias]))]
        stack = [pick(layer_alias(dst, k))
                 for k in range(graph.num_layers[dst])]
        ops[dst] = (pick(head_alias(dst, src)),
                    [s for s in stack if s != 'skip_connect'])
    return ops


def arch_state_from_params(space: SearchSpace,
                           params: Dict[str, Sequence[float]],
                           path: Optional[List[int]] = None) -> ArchState:
    """Build a state from raw alphas/betas keyed by mutable alias.

    Args:
        space (SearchSpace): The search space.
        params (dict): Alias -> logits (alphas of mixed ops, betas of routes
            named ``routeNN``). Missing aliases have a single choice.
        path (list[int], optional): Derived path; Viterbi over the betas if
            None.
    """
    graph = SpaceGraph(space)
    op_probs, op_choices, route_probs = {}, {}, {}
    for e in graph.head_edges:
        op_choices[head_alias(e.dst, e.src)] = list(space.head_ops)
    for b in graph.blocks:
        for k in range(graph.num_layers[b]):
            op_choices[layer_alias(b, k)] = list(space.stack_ops)
    for alias, value in params.items():
        value = np.asarray(value, dtype=np.float64).reshape(-1)
        if alias.startswith('route'):
            src = int(alias[len('route'):])
            if len(value) != len(graph.outgoing[src]):
                raise ValueError(
                    f'{alias} has {len(value)} entries but node {src} has '
                    f'{len(graph.outgoing[src])} outgoing edges: the '
                    'checkpoint does not belong to this search space')
            route_probs[src] = softmax(value)
        else:
            choices = _choices(space, alias)
            if len(value) != len(choices):
                raise ValueError(
                    f'{alias} has {len(value)} entries, expected '
                    f'{len(choices)} ({choices}): wrong search space?')
            op_probs[alias] = softmax(value)
    if path is None:
        path = viterbi_path(graph, route_probs)
    return ArchState(graph, op_probs, op_choices, route_probs, list(path),
                     _path_ops(graph, path, op_probs, op_choices))


def arch_state_from_mutator(mutator) -> ArchState:
    """Snapshot of a live ``DenseRoutingMutator`` (path from its Viterbi)."""
    params = {
        k: v.detach().float().cpu().numpy()
        for k, v in mutator.arch_params.items()
    }
    return arch_state_from_params(mutator.space, params,
                                  mutator.derive_path())


def arch_state_from_state_dict(space: SearchSpace,
                               state_dict: Dict) -> ArchState:
    """Snapshot from a search checkpoint's ``state_dict``.

    Keys ``...mutator._arch_params.<alias>`` (DDP ``module.`` prefixes are
    fine) hold the alphas / betas.
    """
    params = {}
    for key, value in state_dict.items():
        if ARCH_PARAM_KEY in key:
            alias = key.split(ARCH_PARAM_KEY, 1)[1]
            params[alias] = np.asarray(value.detach().float().cpu()
                                       if hasattr(value, 'detach') else value)
    if not params:
        raise ValueError('no mutator._arch_params.* keys in the checkpoint: '
                         'is it a DenseNAS search checkpoint?')
    return arch_state_from_params(space, params)


def arch_state_from_arch(space: SearchSpace, arch) -> ArchState:
    """One-hot state of a derived architecture (``DerivedArch``)."""
    graph = SpaceGraph(space)
    if not graph.is_path(list(arch.path)):
        raise ValueError(f'path {arch.path} is not a path of {space.name}')
    params: Dict[str, np.ndarray] = {}
    big = 20.0
    path = list(arch.path)
    for src, dst in zip(path, path[1:]):
        if len(graph.outgoing[src]) > 1:
            logits = np.full(len(graph.outgoing[src]), -big)
            logits[graph.edge(src, dst).out_index] = big
            params[route_alias(src)] = logits
    for block in arch.blocks:
        if len(space.head_ops) > 1:
            logits = np.full(len(space.head_ops), -big)
            logits[list(space.head_ops).index(block.head_op)] = big
            params[head_alias(block.node, block.src)] = logits
        kept = dict(zip(block.layer_ids, block.stack_ops))
        for k in range(graph.num_layers[block.node]):
            name = kept.get(k, 'skip_connect')
            if name in space.stack_ops and len(space.stack_ops) > 1:
                logits = np.full(len(space.stack_ops), -big)
                logits[list(space.stack_ops).index(name)] = big
                params[layer_alias(block.node, k)] = logits
    return arch_state_from_params(space, params, path)


def graph_layout(graph: SpaceGraph) -> Dict[int, Tuple[float, float]]:
    """Node positions: one column per stage, nodes of a stage stacked.

    x is the stage index (stem 0, terminal last); y centres the nodes of a
    stage around 0, first block on top.
    """
    by_stage: Dict[int, List[int]] = defaultdict(list)
    for n in graph.nodes:
        by_stage[graph.stages[n]].append(n)
    pos = {}
    for col, stage in enumerate(sorted(by_stage)):
        nodes = by_stage[stage]
        for k, n in enumerate(nodes):
            pos[n] = (float(col), (len(nodes) - 1) / 2.0 - k)
    return pos


# ---------------------------------------------------------------- curves
CURVE_KEYS = ('expected_latency', 'derived_latency', 'train_loss',
              'arch_ce', 'train_acc', 'val_top1', 'alpha_entropy',
              'beta_entropy')


def history_from_scalars(lines: Iterable[str]) -> List[Dict[str, float]]:
    """Per-epoch curves from mmengine's ``vis_data/scalars.json`` lines.

    Training rows (with ``iter``) are averaged per epoch; the arch-step
    values (``arch_*``, logged with the weight iterations of a search
    epoch) and the derived costs are averaged the same way; validation rows
    (``accuracy/top1``, ``step`` = epoch) give ``val_top1``.

    Returns:
        list[dict]: One dict per epoch with ``epoch`` and the keys of
        :data:`CURVE_KEYS` that were found.
    """
    sums: Dict[int, Dict[str, List[float]]] = defaultdict(
        lambda: defaultdict(list))
    names = {
        'loss': 'train_loss',
        'acc_top1': 'train_acc',
        'arch_expected_cost': 'expected_latency',
        'derived_latency': 'derived_latency',
        'arch_alpha_entropy': 'alpha_entropy',
        'arch_beta_entropy': 'beta_entropy',
    }
    for line in lines:
        line = line.strip()
        if not line:
            continue
        row = json.loads(line)
        if 'accuracy/top1' in row:
            epoch = int(row.get('epoch', row.get('step', 0)))
            sums[epoch]['val_top1'].append(float(row['accuracy/top1']))
            continue
        if 'epoch' not in row:
            continue
        epoch = int(row['epoch'])
        for key, name in names.items():
            if key in row:
                sums[epoch][name].append(float(row[key]))
        if 'arch_loss' in row:
            sums[epoch]['arch_ce'].append(
                float(row['arch_loss']) - float(row.get('arch_loss_cost', 0)))
    return [
        dict(epoch=e, **{k: float(np.mean(v)) for k, v in vals.items()})
        for e, vals in sorted(sums.items())
    ]


def read_scalars(path: str) -> List[Dict[str, float]]:
    """:func:`history_from_scalars` of a file."""
    with open(path, encoding='utf-8') as f:
        return history_from_scalars(f)
