"""The dense-routing mutator: alphas, betas, sampling, re-balancing, Viterbi.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.models.mutators import NasMutator
from torch import Tensor

from densenas_mm.models.mutables import DenseNASMixedOp, DenseNASRoute
from densenas_mm.registry import MODELS
from densenas_mm.search_space import SearchSpace, SpaceGraph
from densenas_mm.search_space.naming import route_alias
from densenas_mm.structures import (DerivedArch, alias_entropies, derive_arch,
                                    kind_means, max_entropies, mean_entropies,
                                    viterbi_path)

from .arch_state import ArchStateMixin
from .choices import ChoicesMixin

SAMPLING_MODES = ('uniform', 'sample', 'pair', 'all', 'argmax')


@MODELS.register_module()
class DenseRoutingMutator(ChoicesMixin, ArchStateMixin, NasMutator):
    """Holds DenseNAS's architecture parameters and drives its mutables.

    ``arch_params`` (a ParameterDict keyed by the mutables' aliases) holds one
    alpha vector per mixed op with more than one candidate and one beta
    vector per route with more than one target, initialised to
    ``1e-3 * randn`` as in the reference. The mutator

    - switches sampling modes (:meth:`set_sampling`): ``'uniform'`` /
      ``'sample'`` run one op per mixed op (drawn uniformly / from
      softmax(alpha)),
      ``'pair'`` two ops drawn from softmax(alpha) without replacement,
      ``'all'`` every op weighted, ``'argmax'`` the most probable one;
      optionally with one sampled path instead of every route
      (:meth:`sample_path`, the path-sampling weight steps);
    - exposes the distributions the chained cost estimator needs
      (:meth:`op_distribution`, :meth:`route_probs`);
    - re-balances the sampled alphas after an architecture step (Eq. 9,
      :meth:`~.arch_state.ArchStateMixin.rebalance`; host copies,
      snapshots and re-balancing live in :class:`~.arch_state.ArchStateMixin`);
    - derives the architecture (:meth:`derive`) with
      :func:`densenas_mm.structures.derive_arch`: max-product Viterbi over
      softmax(beta) (T = 1) for the block path, argmax per layer for ops,
      skips dropped.

    mmrazor's ``NasMutator`` API (:class:`~.choices.ChoicesMixin`) speaks
    aliases everywhere: ``search_groups`` maps each alias to its one
    mutable, like ``arch_params``, exported subnets and checkpoints;
    ``sample_choices`` / ``set_choices`` / ``max_choices`` / ... work as
    mmrazor documents them, ``max`` / ``min`` by mult-adds.

    Args:
        route_temperature (float, optional): If given, overrides the
            temperature of every route of the supernet.
        init_std (float): Std of the arch-param init. Defaults to 1e-3.
        custom_groups (list, optional): Not supported (must be empty):
            derivation, the chained cost, checkpoints and plots keep one
            alpha / beta per mutable.
        init_cfg (dict, optional): Init config.

    Example:
        >>> mutator = dict(type='densenas_mm.DenseRoutingMutator')
    """

    def __init__(self,
                 route_temperature: Optional[float] = None,
                 init_std: float = 1e-3,
                 custom_groups: Optional[List[List[str]]] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        if custom_groups:
            raise ValueError(
                'DenseRoutingMutator: custom_groups is not supported (got '
                f'{custom_groups!r}); DenseNAS keeps one alpha / beta per '
                'mutable, keyed by its alias (derivation, the chained cost, '
                'checkpoints and plots rely on it)')
        super().__init__(custom_groups=None, init_cfg=init_cfg)
        self.route_temperature = route_temperature
        self.init_std = init_std
        self._supernet_ref: List[nn.Module] = []
        # (identity of alpha/beta's values, their host copies by alias)
        self._host_copy: Optional[Tuple[Tuple, Dict[str, Tensor]]] = None
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
        groups: Dict[str, List] = {}
        for mutables in self.search_groups.values():
            for m in mutables:
                if not isinstance(m, (DenseNASMixedOp, DenseNASRoute)):
                    raise ValueError(
                        'DenseRoutingMutator drives DenseNAS mutables only; '
                        f'the model also holds a {type(m).__name__} '
                        f'(alias {m.alias!r})')
                if m.alias in groups:
                    raise ValueError(f'two mutables share the alias '
                                     f'{m.alias!r}')
                groups[m.alias] = [m]
                if isinstance(m, DenseNASMixedOp):
                    self._ops[m.alias] = m
                else:
                    self._routes[m.alias] = m
                    if self.route_temperature is not None:
                        m.temperature = float(self.route_temperature)
        # mmrazor numbers its groups (module_0, ...); key them by alias like
        # arch_params, so every mmrazor method speaks one language.
        self._search_groups = groups
        self._flops_costs = None
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
                     arch_grad: bool = False,
                     sample_path: bool = False) -> None:
        """Choose the ops in play in every mixed op (and, optionally, one
        path through the supernet).

        Args:
            mode (str): One of :data:`SAMPLING_MODES`.
            generator (torch.Generator, optional): CPU generator; give every
                rank the same seeded one so that all ranks run the same ops.
            arch_grad (bool): Whether alphas/betas take gradients in the
                coming forward (True only for architecture steps).
            sample_path (bool): Also draw one stem-to-terminal path
                (:meth:`sample_path`) and put only it in play: one target per
                route along it, drawn uniformly in ``'uniform'`` mode and
                from softmax(beta / T) in ``'sample'`` mode (the path's
                probability is then the product of its ``p_ij``, the path
                distribution of the chained cost). Only for those two modes
                (weight steps). Without it every route is open and the
                supernet weighs every head branch by ``p_ij``.
        """
        if mode not in SAMPLING_MODES:
            raise ValueError(f'sampling mode must be one of {SAMPLING_MODES},'
                             f' got {mode!r}')
        if sample_path and mode not in ('uniform', 'sample'):
            raise ValueError(f"sample_path needs mode 'uniform' or 'sample' "
                             f'(weight steps), got mode {mode!r}')
        self.mode = mode
        for m in list(self._ops.values()) + list(self._routes.values()):
            m.arch_grad = arch_grad
        for route in self._routes.values():
            if not route.is_fixed:
                route.current_choice = None
        searchable = [a for a in self._ops if a in self._arch_params]
        for alias, m in self._ops.items():
            if alias not in self._arch_params:
                m.set_active(None if mode == 'all' else [0])
        if mode == 'all':
            for alias in searchable:
                self._ops[alias].set_active(None)
            return
        # Vectorised per group of equal candidate counts. Sampling runs on a
        # CPU generator (equal on every rank) from host copies of alpha (and
        # of beta when a path is drawn from them): `host_arch_params` keeps
        # them between architecture updates, so on a GPU a step reads the
        # device only when alpha/beta changed since the last copy (never in
        # 'uniform' mode, which reads neither).
        by_n: Dict[int, List[str]] = {}
        for alias in searchable:
            by_n.setdefault(self._ops[alias].num_choices, []).append(alias)
        groups = list(by_n.items())
        host: List[Optional[Tensor]] = [None] * len(groups)
        betas: Dict[str, Tensor] = {}
        if mode != 'uniform':
            values = self.host_arch_params()
            host = [
                torch.stack([values[a] for a in aliases])
                for _, aliases in groups
            ]
            if sample_path:
                betas = {a: values[a] for a in self._routes_to_draw()}
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
        if sample_path:
            self.sample_path(generator, betas if mode == 'sample' else None)

    def _routes_to_draw(self) -> List[str]:
        """Aliases of the routes a path draw reads beta from."""
        return [
            a for a, r in self._routes.items()
            if a in self._arch_params and not r.is_fixed
        ]

    @torch.no_grad()
    def sample_path(self,
                    generator: Optional[torch.Generator] = None,
                    betas: Optional[Dict[str, Tensor]] = None) -> List[int]:
        """Draw one stem-to-terminal path and put only it in play.

        Every route draws a target (so a step consumes the same random
        numbers whatever the path), uniformly without ``betas``, else from
        softmax(beta / T); then, from the stem on, each route on the path is
        set to its draw (fixed routes keep their target). The supernet then
        runs only the path's blocks, one head op into each, unweighted.

        Args:
            generator (torch.Generator, optional): CPU generator (seeded
                equally on every rank).
            betas (dict[str, Tensor], optional): Host copies of the betas by
                route alias; None draws uniformly.

        Returns:
            list[int]: The node ids of the path, stem (0) to terminal.
        """
        draws: Dict[str, int] = {}
        by_n: Dict[int, List[str]] = {}
        for alias in self._routes_to_draw():
            by_n.setdefault(self._routes[alias].num_choices, []).append(alias)
        for n, aliases in by_n.items():
            if betas is None:
                picks = torch.randint(n, (len(aliases), ), generator=generator)
            else:
                probs = torch.stack([
                    F.softmax(betas[a] / self._routes[a].temperature, dim=-1)
                    for a in aliases
                ])
                picks = torch.multinomial(
                    probs, 1, generator=generator).flatten()
            draws.update(zip(aliases, picks.tolist()))
        graph = self.graph
        node, path = 0, [0]
        while node != graph.terminal:
            alias = route_alias(node)
            route = self._routes[alias]
            if alias in draws:
                index = draws[alias]
                route.current_choice = route.choices[index]
            else:  # fixed, or a single target
                index = route.active_targets()[0]
            node = graph.outgoing[node][index]
            path.append(node)
        return path

    def ops_in_play(self, alias: str) -> List[int]:
        """Candidate indices of mixed op ``alias`` that the next forward
        runs: those :meth:`set_sampling` (or a fixed choice) put in play,
        every candidate when none is set. A query: changes nothing.

        Args:
            alias (str): A mixed op's alias (``head_alias`` /
                ``layer_alias``).

        Raises:
            KeyError: If ``alias`` is no mixed op of the supernet.
        """
        if alias not in self._ops:
            raise KeyError(f'{alias!r} is no mixed op of the supernet')
        op = self._ops[alias]
        return (list(range(op.num_choices))
                if op.active is None else list(op.active))

    def op_distribution(self,
                        alias: str,
                        all_ops: bool = False) -> Tuple[List[int], Tensor]:
        """Candidate indices in play for ``alias`` and their weights.

        Args:
            alias (str): A mixed op's alias.
            all_ops (bool): All candidates weighted by softmax(alpha) instead
                of those in play; reads the mixed op, changes nothing.
        """
        return self._ops[alias].active_weights(
            self._arch_params.get(alias), all_ops)

    def route_probs(self, src: int) -> Tensor:
        """p over ``graph.outgoing[src]`` (differentiable in arch steps)."""
        route = self._routes[route_alias(src)]
        return route()

    # ---------------------------------------------------------- derivation
    def derive_path(self) -> List[int]:
        """Max-product Viterbi over softmax(beta) (T = 1), stem to terminal."""
        return viterbi_path(self.graph, self._arch_params)

    def derived_arch(self, meta: Optional[Dict] = None) -> DerivedArch:
        """The derived architecture of the current alphas and betas.

        A query: nothing changes (the search loop's records, the hooks and
        the plots use it).
        """
        return derive_arch(self.space, self.graph, self._arch_params,
                           meta=meta)

    def derive(self, meta: Optional[Dict] = None) -> DerivedArch:
        """Derive the architecture and put it in play.

        After this the supernet runs the derived net and mmrazor's
        ``export_fix_subnet(model)`` exports it (its ``fix_subnet``).

        Returns:
            DerivedArch: As :meth:`derived_arch`.
        """
        arch = self.derived_arch(meta)
        self.set_choices(arch.fix_subnet)
        return arch

    # ------------------------------------------------------------- stats
    def entropy(self) -> Dict[str, float]:
        """Mean entropy (nats) of softmax(alpha) and softmax(beta)."""
        return mean_entropies(self._arch_params)

    def entropy_tensor(self) -> Tensor:
        """Entropy of every alpha's and beta's distribution, on their device
        (no host read); :meth:`entropy_from` averages a host copy of it."""
        return alias_entropies(self._arch_params)

    def entropy_from(self, values: Sequence[float]) -> Dict[str, float]:
        """:meth:`entropy` from a host copy of :meth:`entropy_tensor`."""
        return kind_means(self._arch_params, values)

    def max_entropy(self) -> Dict[str, float]:
        """Entropy of uniform distributions, for reference in logs."""
        return max_entropies(self._arch_params)

