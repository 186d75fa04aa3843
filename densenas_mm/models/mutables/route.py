"""Path-level mutable of DenseNAS: the route over a block's outgoing edges."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmrazor.models.mutables.mutable_module import DiffMutableModule
from mmrazor.utils.typing import DumpChosen
from torch import Tensor

from densenas_mm.registry import MODELS
from densenas_mm.structures.derivation import argmax_choice


@MODELS.register_module()
class DenseNASRoute(DiffMutableModule):
    """Routing distribution p_i = softmax(beta_i / T) over ``i``'s out-edges.

    Beta is held by the mutator and passed in. Calling the route returns the
    probability vector (in the order of ``targets``); it does not transform
    features itself: the supernet multiplies each head branch's output by the
    matching entry (x_j = sum_i p_ij * head_ij(x_i), normalised over outputs
    as in the paper). When fixed, the route is one-hot on its target.

    mmrazor's ``current_choice`` is what the supernet runs: ``None`` (every
    target, weighted by p) or one target name (only that edge carries
    features, unweighted), so ``mutator.set_choices`` changes the forward.
    A route has no ``max_choice`` / ``min_choice`` of its own: the costliest
    target depends on the path behind it
    (``DenseRoutingMutator.max_choices`` chooses whole paths).

    Args:
        targets (Sequence[str]): Names of the destination nodes.
        alias (str): Stable name, e.g. ``route04``.
        temperature (float): T dividing beta (reference: 1.0 MBV2, 0.9
            ResNet).
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 targets: Sequence[str],
                 alias: Optional[str] = None,
                 temperature: float = 1.0,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(alias=alias, init_cfg=init_cfg)
        if not targets:
            raise ValueError(f'route {alias!r} needs at least one target')
        if temperature <= 0:
            raise ValueError(f'route temperature must be > 0, got '
                             f'{temperature}')
        self._targets: List[str] = list(targets)
        self._chosen: Optional[str] = None
        self._active: Optional[int] = None
        self.temperature = float(temperature)
        self.arch_grad = True
        # Constants of the beta-free forwards, built once; non-persistent
        # buffers follow the module's .to() / .cuda() / .half() and stay out
        # of the state dict (checkpoints keep their layout).
        n = len(self._targets)
        self.register_buffer(
            '_uniform', torch.full((n, ), 1.0 / n), persistent=False)
        self.register_buffer('_onehot', torch.zeros(n), persistent=False)

    @property
    def choices(self) -> List[str]:
        """Destination names."""
        return list(self._targets)

    def active_targets(self) -> List[int]:
        """Out-edge indices that carry features (all unless fixed or one
        target is the current choice)."""
        if self.is_fixed:
            return [self._targets.index(self._chosen)]
        if self._active is not None:
            return [self._active]
        return list(range(len(self._targets)))

    @property
    def current_choice(self) -> Optional[str]:
        """The target in play, or None for all of them."""
        if self.is_fixed:
            return self._chosen
        return None if self._active is None else self._targets[self._active]

    @current_choice.setter
    def current_choice(self, choice: Union[None, str, Sequence[str]]) -> None:
        """Route to one target (a name, or a one-name list) or to all
        (None)."""
        if isinstance(choice, (list, tuple)):
            if len(choice) != 1:
                raise ValueError(
                    f'{self.alias}: a route runs one target or all of them '
                    f'(None), got {choice!r}')
            choice = choice[0]
        if choice is not None and choice not in self._targets:
            raise ValueError(f'{self.alias}: choice {choice!r} is not among '
                             f'the targets {self._targets}')
        if self.is_fixed:
            if choice != self._chosen:
                raise ValueError(f'{self.alias} is fixed to '
                                 f'{self._chosen!r}; cannot choose {choice!r}')
            return
        self._active = None if choice is None else self._targets.index(
            choice)

    @property
    def max_choice(self) -> str:
        """Not defined for one route (see the class doc).

        Raises:
            NotImplementedError: Always (not an AttributeError, which
                ``nn.Module`` would replace by "no attribute").
        """
        raise NotImplementedError(
            f'{self.alias}: the costliest target of a route depends on the '
            'path behind it; use DenseRoutingMutator.max_choices')

    @property
    def min_choice(self) -> str:
        """Not defined for one route (see :attr:`max_choice`)."""
        raise NotImplementedError(
            f'{self.alias}: the cheapest target of a route depends on the '
            'path behind it; use DenseRoutingMutator.min_choices')

    def forward(self, x=None, arch_param: Optional[Tensor] = None) -> Tensor:
        """Return the probability vector (``x`` is ignored)."""
        return super().forward(x, arch_param=arch_param)

    def forward_fixed(self, x=None) -> Tensor:
        """One-hot on the chosen target (on the module's device)."""
        return self._onehot

    def forward_all(self, x=None) -> Tensor:
        """Uniform probabilities (no beta given; on the module's device)."""
        return self._uniform

    def forward_arch_param(self, x, arch_param: Tensor) -> Tensor:
        """softmax(beta / T), detached unless ``arch_grad``."""
        beta = arch_param if self.arch_grad else arch_param.detach()
        return F.softmax(beta / self.temperature, dim=-1)

    def sample_choice(self, arch_param: Optional[Tensor] = None) -> str:
        """The most probable target under ``arch_param``; without it a
        uniformly drawn one."""
        if arch_param is None:
            return self._targets[int(
                torch.randint(len(self._targets), ()).item())]
        return argmax_choice(self._targets, arch_param)

    def fix_chosen(self, chosen: str) -> None:
        """Route everything to ``chosen``; irreversible."""
        if isinstance(chosen, (list, tuple)) and len(chosen) == 1:
            chosen = chosen[0]
        if chosen not in self._targets:
            raise ValueError(
                f'{self.alias}: {chosen!r} is not a target; targets are '
                f'{self._targets}. The architecture does not fit this '
                'supernet.')
        if self.is_fixed:
            raise AttributeError(f'{self.alias} is already fixed')
        self._chosen = chosen
        self._active = None
        with torch.no_grad():
            self._onehot.zero_()
            self._onehot[self._targets.index(chosen)] = 1.0
        self.is_fixed = True

    def dump_chosen(self) -> DumpChosen:
        """Chosen target, for mmrazor's ``export_fix_subnet``."""
        chosen = self.current_choice
        if not isinstance(chosen, str):
            raise RuntimeError(
                f'{self.alias}: no target chosen (all are in play); call '
                'mutator.derive() (the derived architecture) or '
                'mutator.set_choices(...) first')
        return DumpChosen(chosen=chosen, meta=dict(all_choices=self.choices))
