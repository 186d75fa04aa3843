"""mmrazor's choice API of the dense-routing mutator, keyed by alias.

What mmrazor's ``NasMutator`` offers, with the meaning mmrazor gives it:

- ``sample_choices(kind)``: ``'random'`` (mmrazor's default) gives the
  choices the arch params favour, as mmrazor's differentiable mutables do
  (for DenseNAS the derived architecture: Viterbi path, argmax ops);
  ``'max'`` / ``'min'`` the costliest / cheapest architecture by mult-adds
  (:attr:`~ChoicesMixin.max_choices`); ``'uniform'`` a uniformly random
  one; ``'sample'`` one drawn from softmax(alpha) and softmax(beta / T);
- ``set_choices`` / ``set_max_choices`` / ``set_min_choices`` put choices in
  play: the next forward runs exactly that subnet (until the next
  ``set_sampling``, which every DenseNAS step calls); ``current_choices``
  reads them back.

The cost-extreme architectures come from
:func:`densenas_mm.structures.extreme_choices` over the candidates'
mult-adds (:func:`~densenas_mm.models.estimators.complexity.signature_flops`
on the signatures of :func:`~densenas_mm.latency.needs.space_ops`).
"""
from typing import Any, Dict, List, Mapping, Optional, Union

import torch
import torch.nn.functional as F

from densenas_mm.models.mutables import DenseNASRoute
from densenas_mm.structures import ARCH_KEY, extreme_choices

#: Kinds of :meth:`ChoicesMixin.sample_choices`.
CHOICE_KINDS = ('random', 'max', 'min', 'uniform', 'sample')
Choice = Union[None, str, List[str]]


class ChoicesMixin:
    """mmrazor's choice methods for :class:`DenseRoutingMutator`.

    Needs ``search_groups`` (alias -> ``[mutable]``), ``_arch_params``,
    ``_ops``, ``space``, ``graph`` and ``derived_arch()`` of the mutator.
    """

    _flops_costs: Any = None

    def sample_choices(self,
                       kind: str = 'random',
                       generator: Optional[torch.Generator] = None
                       ) -> Dict[str, str]:
        """One choice per mutable (alias -> name); see the module doc.

        Args:
            kind (str): One of :data:`CHOICE_KINDS`.
            generator (torch.Generator, optional): For ``'uniform'`` and
                ``'sample'``.

        Raises:
            NotImplementedError: For another ``kind`` (as mmrazor).
        """
        if kind == 'random':
            return dict(self.derived_arch().fix_subnet)
        if kind == 'max':
            return self.max_choices
        if kind == 'min':
            return self.min_choices
        if kind not in CHOICE_KINDS:
            raise NotImplementedError(
                f'sample_choices: kind must be one of {CHOICE_KINDS}, got '
                f'{kind!r}')
        choices = {}
        with torch.no_grad():
            for alias, (m, ) in self.search_groups.items():
                param = self._arch_params.get(alias)
                if m.num_choices == 1:
                    idx = 0
                elif kind == 'uniform' or param is None:
                    idx = int(torch.randint(m.num_choices, (),
                                            generator=generator))
                else:
                    logits = param.detach().float().cpu()
                    if isinstance(m, DenseNASRoute):
                        logits = logits / m.temperature
                    idx = int(torch.multinomial(
                        F.softmax(logits, 0), 1, generator=generator))
                choices[alias] = m.choices[idx]
        return choices

    def set_choices(self, choices: Mapping[str, Any]) -> None:
        """Put one choice per mutable in play (mmrazor's ``set_choices``).

        Args:
            choices (Mapping): Alias -> choice: a name, a list of names (mixed
                ops: several weighted by alpha), None (all), a ``DumpChosen``
                or a ``dict(chosen=...)`` (what ``export_fix_subnet`` and the
                architecture YAML hold). Every alias of :attr:`search_groups`
                is needed; a YAML's ``densenas_arch`` entry is ignored.

        Raises:
            ValueError: Naming missing or unknown aliases, or a choice that
                is not among a mutable's candidates.
        """
        missing = [a for a in self.search_groups if a not in choices]
        unknown = [
            k for k in choices if k not in self.search_groups and k != ARCH_KEY
        ]
        if missing or unknown:
            raise ValueError(
                'set_choices needs one choice per mutable of this supernet: '
                f'missing {missing[:5]}{" ..." if len(missing) > 5 else ""}'
                f' ({len(missing)}), unknown {unknown[:5]} ({len(unknown)})')
        for alias, mutables in self.search_groups.items():
            choice = _chosen_of(choices[alias])
            for m in mutables:
                m.current_choice = choice

    @property
    def current_choices(self) -> Dict[str, Choice]:
        """Alias -> what each mutable runs now (None: all candidates)."""
        return {
            a: ms[0].current_choice
            for a, ms in self.search_groups.items()
        }

    def _extreme_choices(self, largest: bool) -> Dict[str, str]:
        if self._flops_costs is None:
            from densenas_mm.models.estimators.chained_cost import space_costs
            from densenas_mm.models.estimators.complexity import \
                signature_flops
            self._flops_costs = space_costs(self.space, signature_flops,
                                            graph=self.graph)
        costs = self._flops_costs
        op_costs = {**costs.heads, **costs.stacks}
        fix = extreme_choices(self.graph, op_costs, costs.terminals,
                              {a: self._ops[a].choices
                               for a in op_costs}, largest)
        return {alias: fix[alias] for alias in self.search_groups}

    @property
    def max_choices(self) -> Dict[str, str]:
        """The costliest architecture by mult-adds (every mixed op its
        ``max_choice``, the routes the costliest path)."""
        return self._extreme_choices(True)

    @property
    def min_choices(self) -> Dict[str, str]:
        """The cheapest architecture by mult-adds (skips in every stacking
        layer, the cheapest heads, the cheapest path)."""
        return self._extreme_choices(False)

    def set_max_choices(self) -> None:
        """Put :attr:`max_choices` in play."""
        self.set_choices(self.max_choices)

    def set_min_choices(self) -> None:
        """Put :attr:`min_choices` in play."""
        self.set_choices(self.min_choices)


def _chosen_of(value: Any) -> Choice:
    """The choice inside a ``DumpChosen`` / ``dict(chosen=...)`` or as is."""
    if isinstance(value, Mapping):
        if 'chosen' not in value:
            raise ValueError(f'a choice dict needs a "chosen" entry, got '
                             f'{value!r}')
        return value['chosen']
    return getattr(value, 'chosen', value)
