"""The dense-routing mutator: alphas, betas, sampling, re-balancing, Viterbi.
"""
import math
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.models.mutators import NasMutator
from torch import Tensor

from densenas_mm.models.mutables import DenseNASMixedOp, DenseNASRoute
from densenas_mm.registry import MODELS
from densenas_mm.search_space import SearchSpace, SpaceGraph
from densenas_mm.search_space.naming import (head_alias, layer_alias,
                                             route_alias, target_name)
from densenas_mm.structures import DerivedArch, DerivedBlock

SAMPLING_MODES = ('uniform', 'sample', 'pair', 'all', 'argmax')


@MODELS.register_module()
class DenseRoutingMutator(NasMutator):
    """Holds DenseNAS's architecture parameters and drives its mutables.

    ``arch_params`` (a ParameterDict keyed by the mutables' aliases) holds one
    alpha vector per mixed op with more than one candidate and one beta
    vector per route with more than one target, initialised to
    ``1e-3 * randn`` as in the reference. The mutator

    - switches sampling modes (:meth:`set_sampling`): ``'uniform'`` / ``'sample'``
      run one op per mixed op (drawn uniformly / from softmax(alpha)),
      ``'pair'`` two ops drawn from softmax(alpha) without replacement,
      ``'all'`` every op weighted, ``'argmax'`` the most probable one;
    - exposes the distributions the chained cost estimator needs
      (:meth:`op_distribution`, :meth:`route_probs`);
    - re-balances the sampled alphas after an architecture step (Eq. 9,
      :meth:`rebalance`);
    - derives the architecture (:meth:`derive`): max-product Viterbi over
      softmax(beta) (T = 1) for the block path, argmax per layer for ops,
      skips dropped.

    Args:
        route_temperature (float, optional): If given, overrides the
            temperature of every route of the supernet.
        init_std (float): Std of the arch-param init. Defaults to 1e-3.
        custom_groups (list, optional): Passed to ``NasMutator``.
        init_cfg (dict, optional): Init config.

    Example:
        >>> mutator = dict(type='densenas_mm.DenseRoutingMutator')
    """

    def __init__(self,
                 route_temperature: Optional[float] = None,
                 init_std: float = 1e-3,
                 custom_groups: Optional[List[List[str]]] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(custom_groups=custom_groups, init_cfg=init_cfg)
        self.route_temperature = route_temperature
        self.init_std = init_std
        self._supernet_ref: List[nn.Module] = []
        self.mode = 'all'

    # ----------------------------------------------------------- prepare
    def prepare_from_supernet(self, supernet: nn.Module) -> None:
        """Find the DenseNAS supernet inside ``supernet`` and build params."""
        from densenas_mm.models.backbones import DenseNASSupernet
        found = [m for m in supernet.modules()
                 if isinstance(m, DenseNASSupernet)]
        if len(found) != 1:
            raise ValueError(
                'DenseRoutingMutator needs exactly one DenseNASSupernet in '
                f'the model, found {len(found)}')
        # A list keeps the supernet out of this module's children.
        self._supernet_ref = [found[0]]
        super().prepare_from_supernet(supernet)
        self._ops: Dict[str, DenseNASMixedOp] = {}
        self._routes: Dict[str, DenseNASRoute] = {}
        for mutables in self.search_groups.values():
            for m in mutables:
                if isinstance(m, DenseNASMixedOp):
                    self._ops[m.alias] = m
                elif isinstance(m, DenseNASRoute):
                    self._routes[m.alias] = m
                    if self.route_temperature is not None:
                        m.temperature = float(self.route_temperature)
        self.prepare_arch_params()

    def prepare_arch_params(self) -> None:
        """One alpha / beta per mutable with more than one choice."""
        self._arch_params = nn.ParameterDict()
        for alias, m in {**self._ops, **self._routes}.items():
            if m.num_choices > 1:
                self._arch_params[alias] = nn.Parameter(
                    torch.randn(m.num_choices) * self.init_std)
        self._modify_supernet_forward()

    def _modify_supernet_forward(self) -> None:
        for alias, m in {**self._ops, **self._routes}.items():
            if alias in self._arch_params:
                m.set_forward_args(arch_param=self._arch_params[alias])

    @property
    def supernet(self) -> nn.Module:
        """The DenseNAS supernet backbone."""
        if not self._supernet_ref:
            raise RuntimeError('call prepare_from_supernet first')
        return self._supernet_ref[0]

    @property
    def space(self) -> SearchSpace:
        """The search space."""
        return self.supernet.space

    @property
    def graph(self) -> SpaceGraph:
        """The supernet graph."""
        return self.supernet.graph

    def alphas(self) -> Dict[str, nn.Parameter]:
        """Op-level parameters by alias."""
        return {k: v for k, v in self.arch_params.items() if k in self._ops}

    def betas(self) -> Dict[str, nn.Parameter]:
        """Path-level parameters by alias."""
        return {k: v for k, v in self.arch_params.items()
                if k in self._routes}

    # ----------------------------------------------------------- sampling
    @torch.no_grad()
    def set_sampling(self,
                     mode: str,
                     generator: Optional[torch.Generator] = None,
                     arch_grad: bool = False) -> None:
        """Choose the ops in play in every mixed op.

        Args:
            mode (str): One of :data:`SAMPLING_MODES`.
            generator (torch.Generator, optional): CPU generator; give every
                rank the same seeded one so that all ranks run the same ops.
            arch_grad (bool): Whether alphas/betas take gradients in the
                coming forward (True only for architecture steps).
        """
        if mode not in SAMPLING_MODES:
            raise ValueError(f'sampling mode must be one of {SAMPLING_MODES},'
                             f' got {mode!r}')
        self.mode = mode
        for m in list(self._ops.values()) + list(self._routes.values()):
            m.arch_grad = arch_grad
        searchable = [a for a in self._ops if a in self._arch_params]
        for alias, m in self._ops.items():
            if alias not in self._arch_params:
                m.set_active(None if mode == 'all' else [0])
        if mode == 'all':
            for alias in searchable:
                self._ops[alias].set_active(None)
            return
        # Vectorised per group of equal candidate counts; one host copy.
        by_n: Dict[int, List[str]] = {}
        for alias in searchable:
            by_n.setdefault(self._ops[alias].num_choices, []).append(alias)
        # One device-to-host copy of every alpha (the step's one necessary
        # sync: sampling runs on a CPU generator, equal on every rank);
        # none in 'uniform' mode, which does not read alpha.
        groups = list(by_n.items())
        host: List[Optional[Tensor]] = [None] * len(groups)
        if groups and mode != 'uniform':
            stacked = [
                torch.stack([self._arch_params[a].detach() for a in aliases])
                for _, aliases in groups
            ]
            flat = torch.cat([t.flatten() for t in stacked]).float().cpu()
            host = [
                t.view(len(aliases), n) for t, (n, aliases) in zip(
                    flat.split([t.numel() for t in stacked]), groups)
            ]
        for (n, aliases), alpha in zip(groups, host):
            if mode == 'argmax':
                picks = alpha.argmax(dim=1, keepdim=True)
            elif mode == 'uniform':
                picks = torch.randint(
                    n, (len(aliases), 1), generator=generator)
            else:
                k = 2 if mode == 'pair' else 1
                picks = torch.multinomial(
                    F.softmax(alpha, dim=1),
                    min(k, n),
                    replacement=False,
                    generator=generator)
            for alias, row in zip(aliases, picks.tolist()):
                self._ops[alias].set_active(row)

    def op_distribution(self, alias: str) -> Tuple[List[int], Tensor]:
        """Candidate indices in play for ``alias`` and their weights."""
        return self._ops[alias].active_weights(self._arch_params.get(alias))

    def route_probs(self, src: int) -> Tensor:
        """p over ``graph.outgoing[src]`` (differentiable in arch steps)."""
        route = self._routes[route_alias(src)]
        return route()

    # ------------------------------------------------------- re-balancing
    @torch.no_grad()
    def alpha_snapshot(self) -> Dict[str, Tensor]:
        """Copies of the alphas, taken before an architecture step."""
        return {k: v.detach().clone() for k, v in self.alphas().items()}

    @torch.no_grad()
    def rebalance(self, snapshot: Dict[str, Tensor]) -> None:
        """Eq. 9: shift the sampled alphas so unsampled ops keep their mass.

        For the sampled subset S of every mixed op, add
        ``log(sum_S exp(a_old)) - log(sum_S exp(a_new))`` to the new alphas
        in S. Betas are not re-balanced.
        """
        for alias, old in snapshot.items():
            idx = self._ops[alias].active
            if idx is None or len(idx) == self._ops[alias].num_choices:
                continue
            new = self._arch_params[alias].data
            # Python-int indexing: no index tensor to copy to the device.
            offset = (torch.logsumexp(torch.stack([old[i] for i in idx]), 0)
                      - torch.logsumexp(torch.stack([new[i] for i in idx]),
                                        0))
            for i in idx:
                new[i] += offset

    # ---------------------------------------------------------- derivation
    @torch.no_grad()
    def derive_path(self) -> List[int]:
        """Max-product Viterbi over softmax(beta) (T = 1), stem to terminal."""
        graph = self.graph
        logp: Dict[int, Tensor] = {}
        for i in graph.nodes:
            if graph.outgoing[i]:
                beta = self._arch_params.get(route_alias(i))
                logp[i] = (F.log_softmax(beta.detach().float().cpu(), 0)
                           if beta is not None else torch.zeros(1))
        best = {0: 0.0}
        back: Dict[int, int] = {}
        for j in range(1, graph.terminal + 1):
            cands = [(best[e.src] + float(logp[e.src][e.out_index]), e.src)
                     for e in graph.in_edges(j)]
            # Ties break towards the nearest predecessor (listed first).
            score, src = max(cands, key=lambda c: c[0])
            best[j], back[j] = score, src
        path = [graph.terminal]
        while path[-1] != 0:
            path.append(back[path[-1]])
        return path[::-1]

    def _argmax_choice(self, alias: str) -> str:
        """Most probable choice of a mixed op or route (its only one when it
        has no arch param)."""
        m = self._ops.get(alias) or self._routes[alias]
        param = self._arch_params.get(alias)
        return m.choices[0] if param is None else m.sample_choice(
            param.detach())

    @torch.no_grad()
    def derive(self, meta: Optional[Dict] = None) -> DerivedArch:
        """The derived architecture of the current alphas and betas."""
        space, graph = self.space, self.graph
        path = self.derive_path()
        blocks = []
        for src, dst in zip(path, path[1:-1]):
            stack, ids = [], []
            for layer in range(graph.num_layers[dst]):
                name = self._argmax_choice(layer_alias(dst, layer))
                if name != 'skip_connect':
                    stack.append(name)
                    ids.append(layer)
            blocks.append(
                DerivedBlock(
                    c_in=graph.widths[src],
                    c_out=graph.widths[dst],
                    head_op=self._argmax_choice(head_alias(dst, src)),
                    stack_ops=stack,
                    stride=graph.edge(src, dst).stride,
                    node=dst,
                    src=src,
                    layer_ids=ids))
        fix = {alias: self._argmax_choice(alias) for alias in self._ops}
        nxt = dict(zip(path, path[1:]))
        for alias in self._routes:
            src = int(alias[len('route'):])
            if src in nxt:
                fix[alias] = target_name(nxt[src])
            else:
                fix[alias] = self._argmax_choice(alias)
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
            fix_subnet=fix,
            meta=dict(meta or {}))

    # ------------------------------------------------------------- stats
    @torch.no_grad()
    def entropy(self) -> Dict[str, float]:
        """Mean entropy (nats) of softmax(alpha) and softmax(beta)."""
        def mean_entropy(params: Dict[str, nn.Parameter]) -> float:
            if not params:
                return 0.0
            ents = []
            for p in params.values():
                prob = F.softmax(p.detach().float(), 0)
                ents.append(-(prob * prob.clamp_min(1e-12).log()).sum())
            # One device-to-host copy for all, not one per parameter.
            vals = torch.stack(ents).tolist()
            return sum(vals) / len(vals)

        return dict(
            alpha_entropy=mean_entropy(self.alphas()),
            beta_entropy=mean_entropy(self.betas()))

    def max_entropy(self) -> Dict[str, float]:
        """Entropy of uniform distributions, for reference in logs."""
        a = [math.log(p.numel()) for p in self.alphas().values()]
        b = [math.log(p.numel()) for p in self.betas().values()]
        return dict(
            alpha_entropy=sum(a) / max(len(a), 1),
            beta_entropy=sum(b) / max(len(b), 1))
