"""Deriving a DenseNAS architecture from alphas and betas (method doc 5).

Pure functions over architecture parameters keyed by alias (the mutator's
``arch_params``, or the ``mutator._arch_params.*`` tensors of a checkpoint):
nothing here reads or changes a module. The mutator, the hooks and the plots
all derive through :func:`derive_arch`, so the architecture a search writes
is the one its pictures draw.

- Blocks: max-product Viterbi over ``p = softmax(beta)`` (T = 1) from node 0
  to the terminal, ties going to the nearest predecessor;
- ops: on the chosen path, the head op is the argmax of the head alpha of
  the chosen edge, stacking ops the argmax per layer with every skip
  dropped.

:func:`extreme_choices` derives the other two architectures mmrazor's
mutators name, the largest and the smallest, from per-candidate costs
instead of parameters.
"""
import math
from typing import Any, Dict, List, Mapping, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from densenas_mm.search_space.grammar import SKIP
from densenas_mm.search_space.naming import (head_alias, layer_alias,
                                             parse_alias, route_alias,
                                             target_name)
from .derived_arch import DerivedArch, DerivedBlock

Params = Mapping[str, Any]
#: What precedes an alias in a search checkpoint's state-dict keys
#: (``...mutator._arch_params.<alias>``).
ARCH_PARAM_KEY = '_arch_params.'


def _logits(value: Any) -> Tensor:
    """A 1-D float32 CPU tensor of ``value`` (tensor, array or list)."""
    if isinstance(value, Tensor):
        return value.detach().float().cpu().reshape(-1)
    return torch.as_tensor(value, dtype=torch.float32).reshape(-1)


def argmax_choice(choices: Sequence[str], logits: Optional[Any]) -> str:
    """The most probable choice (the only one without logits)."""
    if logits is None:
        return choices[0]
    return choices[int(torch.argmax(_logits(logits)).item())]


def alias_choices(space: Any, graph: Any, alias: str) -> List[str]:
    """The choices of a mutable alias in ``space``.

    Raises:
        ValueError: For an alias the space does not have.
    """
    info = parse_alias(alias)
    if info.kind == 'route':
        if info.src not in graph.nodes or not graph.outgoing[info.src]:
            raise ValueError(f'{alias}: node {info.src} has no route in '
                             f'space {space.name!r}')
        return [target_name(j) for j in graph.outgoing[info.src]]
    if info.block not in graph.blocks:
        raise ValueError(f'{alias}: space {space.name!r} has no block '
                         f'{info.block}')
    if info.kind == 'head':
        if (info.src, info.block) not in {(e.src, e.dst)
                                          for e in graph.head_edges}:
            raise ValueError(f'{alias}: space {space.name!r} has no edge '
                             f'{info.src} -> {info.block}')
        return list(space.head_ops)
    if info.layer >= graph.num_layers[info.block]:
        raise ValueError(f'{alias}: block {info.block} of space '
                         f'{space.name!r} has {graph.num_layers[info.block]}'
                         ' stacking layers')
    return list(space.stack_ops)


def check_params(space: Any, graph: Any, params: Params) -> None:
    """Check every alias of ``params`` exists and has one logit per choice.

    Raises:
        ValueError: Naming the first alias that does not fit the space.
    """
    for alias, value in params.items():
        choices = alias_choices(space, graph, alias)
        n = _logits(value).numel()
        info = parse_alias(alias)
        if n != len(choices) and info.kind == 'route':
            raise ValueError(
                f'{alias} has {n} entries but node {info.src} has '
                f'{len(choices)} outgoing edges in space {space.name!r}: the '
                'parameters do not belong to this search space')
        if n != len(choices):
            raise ValueError(
                f'{alias} has {n} entries but {len(choices)} choices '
                f'({choices}) in space {space.name!r}: the parameters do not '
                'belong to this search space')


def params_from_state_dict(state_dict: Mapping[str, Any]) -> Dict[str, Any]:
    """The alphas / betas of a search checkpoint's state dict, by alias.

    Keys ``...mutator._arch_params.<alias>`` (DDP ``module.`` prefixes are
    fine) hold them.

    Raises:
        ValueError: If the state dict holds none.
    """
    params = {
        key.split(ARCH_PARAM_KEY, 1)[1]: value
        for key, value in state_dict.items() if ARCH_PARAM_KEY in key
    }
    if not params:
        raise ValueError('no mutator._arch_params.* keys in the checkpoint: '
                         'is it a DenseNAS search checkpoint?')
    return params


def route_probabilities(graph: Any, params: Params) -> Dict[int, Tensor]:
    """``softmax(beta_i)`` (T = 1) for every node with outgoing edges.

    A node with one target (no beta) gets ``tensor([1.])``.
    """
    probs = {}
    for i in graph.nodes:
        if graph.outgoing[i]:
            beta = params.get(route_alias(i))
            probs[i] = (torch.ones(1) if beta is None else F.softmax(
                _logits(beta), 0))
    return probs


def viterbi_path(graph: Any, params: Params) -> List[int]:
    """Max-product path over ``softmax(beta)`` (T = 1), stem to terminal.

    Ties break towards the nearest predecessor (listed first in
    ``graph.in_edges``).
    """
    logp: Dict[int, Tensor] = {}
    for i in graph.nodes:
        if graph.outgoing[i]:
            beta = params.get(route_alias(i))
            logp[i] = (torch.zeros(1) if beta is None else F.log_softmax(
                _logits(beta), 0))
    best = {0: 0.0}
    back: Dict[int, int] = {}
    for j in range(1, graph.terminal + 1):
        cands = [(best[e.src] + float(logp[e.src][e.out_index]), e.src)
                 for e in graph.in_edges(j)]
        score, src = max(cands, key=lambda c: c[0])
        best[j], back[j] = score, src
    path = [graph.terminal]
    while path[-1] != 0:
        path.append(back[path[-1]])
    return path[::-1]


def derive_arch(space: Any,
                graph: Any,
                params: Params,
                path: Optional[List[int]] = None,
                meta: Optional[Dict[str, Any]] = None,
                choices: Optional[Mapping[str, int]] = None) -> DerivedArch:
    """The derived architecture of ``params`` in ``space``.

    Args:
        space (SearchSpace): The search space.
        graph (SpaceGraph): Its graph.
        params (Mapping[str, Tensor]): Alias -> logits; aliases with a single
            choice may be absent.
        path (list[int], optional): Use this block path instead of the
            Viterbi path (must be a path of ``graph``).
        meta (dict, optional): Stored in ``DerivedArch.meta``.
        choices (Mapping[str, int], optional): Mixed-op alias -> candidate
            index to take instead of the argmax (e.g. the ops a
            budget-constrained derivation chose); other aliases keep their
            argmax.

    Returns:
        DerivedArch: Blocks with their supernet coordinates (``node``,
        ``src``, ``layer_ids``) and a ``fix_subnet`` for every mutable.
    """
    path = viterbi_path(graph, params) if path is None else list(path)
    if not graph.is_path(path):
        raise ValueError(f'{path} is not a path of space {space.name!r}')

    fixed = dict(choices or {})

    def pick(alias: str, names: Sequence[str]) -> str:
        if alias in fixed:
            return names[fixed[alias]]
        return argmax_choice(names, params.get(alias))

    blocks = []
    for src, dst in zip(path, path[1:-1]):
        stack, ids = [], []
        for layer in range(graph.num_layers[dst]):
            name = pick(layer_alias(dst, layer), space.stack_ops)
            if name != SKIP:
                stack.append(name)
                ids.append(layer)
        blocks.append(
            DerivedBlock(
                c_in=graph.widths[src],
                c_out=graph.widths[dst],
                head_op=pick(head_alias(dst, src), space.head_ops),
                stack_ops=stack,
                stride=graph.edge(src, dst).stride,
                node=dst,
                src=src,
                layer_ids=ids))
    fix: Dict[str, str] = {}
    for j in graph.blocks:
        for edge in graph.in_edges(j):
            alias = head_alias(j, edge.src)
            fix[alias] = pick(alias, space.head_ops)
        for layer in range(graph.num_layers[j]):
            alias = layer_alias(j, layer)
            fix[alias] = pick(alias, space.stack_ops)
    nxt = dict(zip(path, path[1:]))
    for i in graph.nodes:
        if not graph.outgoing[i]:
            continue
        alias = route_alias(i)
        fix[alias] = (target_name(nxt[i]) if i in nxt else pick(
            alias, [target_name(j) for j in graph.outgoing[i]]))
    return DerivedArch(
        family=space.family,
        stem_channels=space.stem_channels,
        stem_ops=list(space.stem_ops),
        blocks=blocks,
        last_dim=space.last_dim if space.terminal_in_subnet else None,
        stem_stride=space.stem_stride,
        input_size=space.input_size,
        num_classes=space.num_classes,
        in_channels=space.in_channels,
        act=space.act,
        path=path,
        space=space.name,
        search_space=space.to_dict(),
        fix_subnet=fix,
        meta=dict(meta or {}))


def extreme_choices(graph: Any,
                    op_costs: Mapping[str, Sequence[float]],
                    terminal_costs: Mapping[int, float],
                    op_choices: Mapping[str, Sequence[str]],
                    largest: bool = True) -> Dict[str, str]:
    """Choices of the costliest (or cheapest) architecture of a space.

    Every mixed op takes its costliest (cheapest) candidate; every route the
    target that continues to the costliest (cheapest) remaining net, found
    by dynamic programming from the terminal back to the stem::

        best[T] = 0
        best[i] = stack(i) + max_j (head(j <- i) + best[j])   (min for the
                                                               cheapest)

    so following the routes from node 0 walks the extreme path, and every
    route off that path is extreme for the net behind it. Ties go to the
    first candidate / the nearest target.

    Args:
        graph (SpaceGraph): The space's graph.
        op_costs (Mapping[str, Sequence[float]]): Mixed-op alias -> cost of
            each candidate (heads and stacking layers).
        terminal_costs (Mapping[int, float]): Source node -> cost of its
            terminal branch.
        op_choices (Mapping[str, Sequence[str]]): Mixed-op alias -> candidate
            names, in the order of ``op_costs``.
        largest (bool): Costliest (True) or cheapest (False).

    Returns:
        dict[str, str]: Alias -> choice for every mixed op and route (a
        ``fix_subnet``).
    """
    sign = 1.0 if largest else -1.0

    def best_index(costs: Sequence[float]) -> int:
        scores = [sign * float(c) for c in costs]
        return scores.index(max(scores))

    picks = {a: best_index(c) for a, c in op_costs.items()}
    fix: Dict[str, str] = {
        a: op_choices[a][k]
        for a, k in picks.items()
    }

    def chosen_cost(alias: str) -> float:
        return float(op_costs[alias][picks[alias]])

    best: Dict[int, float] = {graph.terminal: 0.0}
    for i in sorted(graph.nodes, reverse=True):
        succ = graph.outgoing[i]
        if not succ:
            continue
        stack = sum(
            chosen_cost(layer_alias(i, k))
            for k in range(graph.num_layers[i]))
        totals = [(float(terminal_costs[i]) if j == graph.terminal else
                   chosen_cost(head_alias(j, i))) + best[j] for j in succ]
        k = best_index(totals)
        best[i] = stack + totals[k]
        fix[route_alias(i)] = target_name(succ[k])
    return fix


def _entropy_tensor(logits: Any) -> Tensor:
    if isinstance(logits, Tensor):
        x = logits.detach().float().reshape(-1)
    else:
        x = torch.as_tensor(logits, dtype=torch.float32).reshape(-1)
    prob = F.softmax(x, 0)
    return -(prob * prob.clamp_min(1e-12).log()).sum()


def entropy(logits: Any) -> float:
    """Entropy (nats) of ``softmax(logits)``."""
    return float(_entropy_tensor(logits))


def alias_entropies(params: Params) -> Tensor:
    """Entropy (nats) of every alias's distribution, in the order of
    ``params``, as one float32 tensor where the parameters live (no host
    read; :func:`kind_means` averages a host copy)."""
    if not params:
        return torch.zeros(0)
    return torch.stack([_entropy_tensor(v) for v in params.values()])


def kind_means(params: Params, values: Sequence[float]) -> Dict[str, float]:
    """Mean of per-alias entropies (:func:`alias_entropies`, read to the
    host) over the op (alpha) and the route (beta) distributions.

    Returns:
        dict: ``alpha_entropy`` and ``beta_entropy`` in nats (0.0 when a kind
        has no parameters).
    """
    kinds = [
        'beta' if parse_alias(alias).kind == 'route' else 'alpha'
        for alias in params
    ]
    out = {}
    for kind in ('alpha', 'beta'):
        vals = [float(v) for k, v in zip(kinds, values) if k == kind]
        out[f'{kind}_entropy'] = sum(vals) / len(vals) if vals else 0.0
    return out


def mean_entropies(params: Params) -> Dict[str, float]:
    """Mean entropy of the op (alpha) and route (beta) distributions.

    Computed where the parameters live, with one device-to-host copy.

    Returns:
        dict: ``alpha_entropy`` and ``beta_entropy`` in nats (0.0 when a kind
        has no parameters).
    """
    return kind_means(params, alias_entropies(params).cpu().tolist())


def max_entropies(params: Params) -> Dict[str, float]:
    """Mean entropy of uniform distributions of the same sizes."""
    ents: Dict[str, List[float]] = dict(alpha=[], beta=[])
    for alias, value in params.items():
        kind = 'beta' if parse_alias(alias).kind == 'route' else 'alpha'
        ents[kind].append(math.log(_logits(value).numel()))
    return {
        f'{k}_entropy': sum(v) / max(len(v), 1)
        for k, v in ents.items()
    }
