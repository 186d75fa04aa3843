"""Numbers behind the DenseNAS pictures, independent of matplotlib.

An :class:`ArchState` is a snapshot of a search: the supernet graph, the
op distributions softmax(alpha) per mixed op, the path distributions
softmax(beta) per source block and the derived architecture. It is built
from alphas/betas and the architecture derived from them (:func:`arch_state`;
the visualisation hook passes the search loop's derived architecture, so the
pictures show what was saved; derivation itself lives in
:mod:`densenas_mm.structures.derivation`), from a checkpoint's state dict
(:func:`arch_state_from_state_dict`, used by ``tools/analysis/plot_arch.py``)
or from a derived architecture alone (:func:`arch_state_from_arch`: one-hot,
no search distributions).
"""
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

from densenas_mm.search_space import SearchSpace, SpaceGraph
from densenas_mm.search_space.naming import (head_alias, layer_alias,
                                             parse_alias, route_alias)
from densenas_mm.structures import (DerivedArch, check_arch_in_space,
                                    check_params, derive_arch,
                                    mean_entropies, params_from_state_dict,
                                    route_probabilities)



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
        entropies (dict): Mean ``alpha_entropy`` / ``beta_entropy`` (nats).
        one_hot (bool): A derived architecture alone (no search
            distributions): p_ij is 1 on its path and 0 on every other
            edge, including edges leaving nodes off the path.
    """
    graph: SpaceGraph
    op_probs: Dict[str, np.ndarray]
    op_choices: Dict[str, List[str]]
    route_probs: Dict[int, np.ndarray]
    path: List[int]
    ops: Dict[int, Tuple[str, List[str]]] = field(default_factory=dict)
    entropies: Dict[str, float] = field(default_factory=dict)
    one_hot: bool = False

    def edge_probs(self) -> Dict[Tuple[int, int], float]:
        """p_ij of every edge (1.0 where the source has one target; for a
        :attr:`one_hot` state 1.0 on the path and 0.0 elsewhere)."""
        if self.one_hot:
            on_path = set(self.path_edges())
            return {(e.src, e.dst): float((e.src, e.dst) in on_path)
                    for e in self.graph.edges}
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
        info = parse_alias(alias)
        if info.kind == 'head':
            return (info.src, info.block) in set(self.path_edges())
        return info.block in set(self.path)

    def mean_entropy(self) -> Dict[str, float]:
        """Mean entropy of the op and route distributions (nats)."""
        return dict(self.entropies)


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


def arch_state(space: SearchSpace,
               params: Dict[str, Any],
               arch: Optional[DerivedArch] = None) -> ArchState:
    """The picture data of alphas/betas and the architecture derived from
    them.

    Args:
        space (SearchSpace): The search space.
        params (dict): Alias -> logits (tensors, arrays or lists); aliases
            with a single choice may be absent.
        arch (DerivedArch, optional): The derived architecture to draw (the
            search loop's, so the picture shows what was saved); derived
            from ``params`` with :func:`~densenas_mm.structures.derive_arch`
            when None.

    Raises:
        ValueError: If ``params`` does not belong to ``space``.
    """
    graph = SpaceGraph(space)
    check_params(space, graph, params)
    if arch is None:
        arch = derive_arch(space, graph, params)
    op_choices: Dict[str, List[str]] = {}
    for e in graph.head_edges:
        op_choices[head_alias(e.dst, e.src)] = list(space.head_ops)
    for b in graph.blocks:
        for k in range(graph.num_layers[b]):
            op_choices[layer_alias(b, k)] = list(space.stack_ops)
    op_probs = {
        alias: torch.softmax(torch.as_tensor(value).detach().float().cpu()
                             .reshape(-1), 0).numpy()
        for alias, value in params.items()
        if parse_alias(alias).kind != 'route'
    }
    routes = route_probabilities(graph, params)
    route_probs = {
        src: probs.numpy()
        for src, probs in routes.items() if route_alias(src) in params
    }
    ops = {b.node: (b.head_op, list(b.stack_ops)) for b in arch.blocks}
    return ArchState(graph, op_probs, op_choices, route_probs,
                     list(arch.path), ops, mean_entropies(params))


def arch_state_from_params(space: SearchSpace,
                           params: Dict[str, Any],
                           path: Optional[List[int]] = None) -> ArchState:
    """:func:`arch_state` with the ops derived on ``path`` (the Viterbi
    path when None)."""
    graph = SpaceGraph(space)
    check_params(space, graph, params)
    return arch_state(space, params, derive_arch(space, graph, params, path))


def arch_state_from_mutator(mutator) -> ArchState:
    """Snapshot of a live ``DenseRoutingMutator`` (its derived arch)."""
    return arch_state(mutator.space, dict(mutator.arch_params),
                      mutator.derived_arch())


def arch_state_from_state_dict(space: SearchSpace,
                               state_dict: Dict) -> ArchState:
    """Snapshot from a search checkpoint's ``state_dict``.

    Keys ``...mutator._arch_params.<alias>`` (DDP ``module.`` prefixes are
    fine) hold the alphas / betas.
    """
    return arch_state(space, params_from_state_dict(state_dict))


def arch_state_from_arch(space: SearchSpace, arch: DerivedArch) -> ArchState:
    """One-hot state of a derived architecture (``DerivedArch``).

    Raises:
        ArchError: If ``arch`` does not belong to ``space``
            (:func:`~densenas_mm.structures.check_arch_in_space`).
    """
    graph = SpaceGraph(space)
    check_arch_in_space(arch, space, graph)
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
    state = arch_state(space, params, arch)
    state.one_hot = True
    return state


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


def warmup_epochs(history: List[Dict]) -> Optional[int]:
    """Number of warm-up epochs among ``history``'s rows (None if none)."""
    count = sum(1 for r in history if r.get('phase') == 'warmup')
    return count or None


def read_history(path: str, fix: str = '') -> List[Dict[str, Any]]:
    """The per-epoch curve rows of a search: the ``history.json`` that
    ``DenseNASVisualizationHook`` writes from the search loop's epoch
    records (keys: ``epoch``, ``phase``, ``path`` and those of
    :data:`CURVE_KEYS`). The hook's ``curves.png`` and
    ``tools/analysis/plot_arch.py --history`` draw these rows.

    Args:
        path (str): The file.
        fix (str): What to do about a damaged file, for the message.

    Raises:
        ValueError: If the file is damaged or not such a list of rows,
            naming it.
    """
    from densenas_mm.utils.safe_read import read_json_file
    fix = fix or ('Pass the vis/history.json of a search work dir')
    rows = read_json_file(path, 'the search history', fix)
    if not isinstance(rows, list) or not all(
            isinstance(r, dict) and isinstance(r.get('epoch'), int)
            for r in rows):
        raise ValueError(
            f'{path}: not a search history (a JSON list of per-epoch rows '
            'with "epoch", as DenseNASVisualizationHook writes vis/'
            f'history.json). {fix}')
    return rows
