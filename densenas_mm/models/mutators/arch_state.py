"""The values of the dense-routing mutator's alpha and beta: host copies
for sampling, snapshots around an architecture step, and Eq. 9's
re-balancing of the sampled alphas.

Sampling runs on a CPU generator from host copies of alpha/beta
(:meth:`ArchStateMixin.host_arch_params`); on a device the copy is cached
and read again only when a parameter changed (its storage or version
counter), and an architecture step hands in the copy it read with its other
values (:meth:`ArchStateMixin.adopt_host_copy`).
"""
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from densenas_mm.utils.tensors import to_host


class ArchStateMixin:
    """Alpha/beta values for :class:`~.DenseRoutingMutator`.

    Needs ``_arch_params`` (alias -> parameter), ``_ops`` (alias -> mixed
    op) and ``_host_copy`` (``None`` at first) of the mutator, and its
    ``arch_params`` / ``alphas()``.
    """

    _arch_params: torch.nn.ParameterDict
    _host_copy: Optional[Tuple[Tuple, Dict[str, Tensor]]]

    def _arch_key(self) -> Tuple:
        """Identity of alpha/beta's current values: storage and version
        counter of every parameter (an optimiser step, ``copy_`` and
        ``load_state_dict`` bump the counter; ``.to()`` changes storage)."""
        return tuple((a, p.data_ptr(), p._version)
                     for a, p in self._arch_params.items())

    def arch_flat(self) -> Tensor:
        """Every alpha and beta, detached, flattened into one float32 tensor
        on their device (the order of :attr:`arch_params`)."""
        return torch.cat([
            p.detach().reshape(-1).float()
            for p in self._arch_params.values()
        ])

    def host_arch_params(self) -> Dict[str, Tensor]:
        """Float32 CPU copies of alpha/beta by alias, what sampling reads.

        On the CPU these are fresh copies. On a device they are cached and
        read again (one transfer) only when a parameter changed since the
        copy was taken; an architecture step hands its copy in through
        :meth:`adopt_host_copy`, read together with its other values.
        Changes made through ``.data`` bypass the version counter: set
        alpha/beta with ``copy_`` under ``torch.no_grad()`` instead.

        Returns:
            dict[str, Tensor]: CPU float32 tensors by alias.
        """
        params = self._arch_params
        if not params:
            return {}
        if next(iter(params.values())).device.type == 'cpu':
            return {a: p.detach().float().clone() for a, p in params.items()}
        key = self._arch_key()
        if self._host_copy is None or self._host_copy[0] != key:
            self._host_copy = (key, self._split_flat(
                to_host([self.arch_flat()])[0]))
        return self._host_copy[1]

    def adopt_host_copy(self, flat: Tensor) -> None:
        """Take ``flat`` (a CPU copy of :meth:`arch_flat`, read after the
        last change of alpha/beta) as the host copy sampling reads."""
        if flat.numel() != sum(p.numel() for p in self._arch_params.values()):
            raise ValueError(
                f'a host copy of alpha/beta must have '
                f'{sum(p.numel() for p in self._arch_params.values())} '
                f'values, got {flat.numel()}')
        self._host_copy = (self._arch_key(), self._split_flat(flat))

    def _split_flat(self, flat: Tensor) -> Dict[str, Tensor]:
        params = self._arch_params
        parts = flat.split([p.numel() for p in params.values()])
        return {
            a: part.view(p.shape)
            for (a, p), part in zip(params.items(), parts)
        }

    # ------------------------------------------------------- re-balancing
    @torch.no_grad()
    def alpha_snapshot(self) -> Dict[str, Tensor]:
        """Copies of the alphas, taken before an architecture step."""
        return {k: v.detach().clone() for k, v in self.alphas().items()}

    def arch_snapshot(self) -> Dict[str, Tensor]:
        """Copies of every alpha and beta (on their device): what
        :meth:`rebalance` and :meth:`restore` take."""
        return {k: v.detach().clone() for k, v in self.arch_params.items()}

    @torch.no_grad()
    def restore(self, snapshot: Dict[str, Tensor]) -> None:
        """Put alpha/beta back to the values of a snapshot (an architecture
        step that has to stop undoes its update with it)."""
        for alias, value in snapshot.items():
            self._arch_params[alias].copy_(value)

    @torch.no_grad()
    def rebalance(self, snapshot: Dict[str, Tensor]) -> None:
        """Eq. 9: shift the sampled alphas so unsampled ops keep their mass.

        For the sampled subset S of every mixed op, add
        ``log(sum_S exp(a_old)) - log(sum_S exp(a_new))`` to the new alphas
        in S. Betas are not re-balanced.
        """
        for alias, old in snapshot.items():
            if alias not in self._ops:
                continue  # a beta (snapshots may hold both)
            idx = self._ops[alias].active
            if idx is None or len(idx) == self._ops[alias].num_choices:
                continue
            new = self._arch_params[alias]
            # Python-int indexing: no index tensor to copy to the device. In
            # place on the parameter (not .data), so its version counter
            # records the change (see host_arch_params).
            offset = (torch.logsumexp(torch.stack([old[i] for i in idx]), 0)
                      - torch.logsumexp(torch.stack([new[i] for i in idx]),
                                        0))
            for i in idx:
                new[i] += offset
