"""Stops of a search that went wrong: NaN/inf and diverged losses.

The algorithm checks every step's loss before the update (so nothing bad is
stepped into the weights or saved): a non-finite loss, or with the
divergence guard a finite loss far above its running median (a loss of
1e13 after steps around 2). Both stops raise ``FloatingPointError`` with the
phase, the value, the ranks affected and what to do; the note on
checkpoints says which one is intact, or that none has been written.
:class:`StepGuards` runs these checks for the algorithm (and checks
alpha/beta after an architecture step).
"""
import math
import os
import statistics
from collections import deque
from typing import Deque, Dict, Optional, Sequence

import torch
from mmengine.dist import all_reduce, get_rank, is_distributed
from torch import Tensor

from densenas_mm.utils.tensors import stack_scalars, to_host


class DivergenceGuard:
    """Running median of recent losses per stream and the stop threshold.

    A loss is diverged when it exceeds ``factor * max(median, floor)`` of
    the last ``window`` losses of its stream (weight steps and architecture
    steps are separate streams: their losses differ by the cost term). The
    guard starts after ``min_steps`` losses of the stream; a resumed run
    starts it afresh.

    Args:
        factor (float): How far above the running median is divergence.
        window (int): Losses the median is taken over.
        min_steps (int): Losses to see before the guard can stop a run.
        floor (float): Lower bound of the median in the threshold, so a
            loss near 0 late in training does not make ordinary noise look
            like divergence.
    """

    def __init__(self,
                 factor: float = 100.0,
                 window: int = 100,
                 min_steps: int = 20,
                 floor: float = 1.0) -> None:
        for name, value, low in (('factor', factor, 1.0), ('window', window,
                                                            1),
                                 ('min_steps', min_steps, 1), ('floor', floor,
                                                               0.0)):
            if not isinstance(value, (int, float)) or isinstance(
                    value, bool) or not value >= low or not math.isfinite(
                        value):
                raise ValueError(f'divergence_guard.{name} must be a number '
                                 f'>= {low}, got {value!r}')
        if min_steps > window:
            raise ValueError(f'divergence_guard.min_steps ({min_steps}) must '
                             f'not exceed window ({window})')
        self.factor, self.floor = float(factor), float(floor)
        self.window, self.min_steps = int(window), int(min_steps)
        self._history: Dict[str, Deque[float]] = {}

    def median(self, stream: str) -> Optional[float]:
        """Median of the stream's recent losses (None before any)."""
        values = self._history.get(stream)
        return statistics.median(values) if values else None

    def limit(self, stream: str) -> float:
        """The loss above which a step of ``stream`` is diverged (inf while
        the guard is still collecting its first ``min_steps`` losses)."""
        values = self._history.get(stream)
        if not values or len(values) < self.min_steps:
            return math.inf
        return self.factor * max(statistics.median(values), self.floor)

    def count(self, stream: str) -> int:
        """How many recent losses of ``stream`` the median is taken over."""
        return len(self._history.get(stream, ()))

    def record(self, stream: str, loss: float) -> None:
        """Add the loss of a step that passed."""
        self._history.setdefault(stream,
                                 deque(maxlen=self.window)).append(loss)


def checkpoint_note(before_update: bool = True) -> str:
    """What the last checkpoint of this run is, for a stop message.

    Reads ``last_ckpt`` from mmengine's message hub (the checkpoint hook
    sets it for every save, a resume restores it) and checks that the file
    exists, so the message never promises a checkpoint that was not written.

    Args:
        before_update (bool): The stop came before the step's update (else
            after it: the model in memory is bad, saved files are not).
    """
    from mmengine.logging import MessageHub
    last = MessageHub.get_current_instance().runtime_info.get('last_ckpt')
    stop = ('The run is stopped before the update' if before_update else
            'The run is stopped before anything is saved')
    if last and os.path.isfile(str(last)):
        return (f'{stop}, so the last checkpoint is intact: {last} '
                f'(written before this step). Resume from it (tools/train.py '
                f'CONFIG --resume {last}) with lower learning rates or cost '
                'weight; if the losses were already rising before it was '
                'saved, resume from an earlier one.')
    return (f'{stop}. No checkpoint of this run has been written yet, so '
            'there is nothing to resume: restart it with lower learning '
            'rates or cost weight.')


class StepGuards:
    """The stops the algorithm checks at every step.

    Attributes:
        NUM_FLAGS (int): Flags a step all-reduces under DDP (non-finite
            loss, diverged loss, non-finite alpha/beta).

    Args:
        check_finite (bool): Stop on a NaN/inf loss (before the update) or
            NaN/inf alpha/beta (after an architecture step).
        divergence_guard (dict, optional): :class:`DivergenceGuard`
            arguments (``factor``, ``window``, ``min_steps``, ``floor``) to
            stop, before the update, on a finite loss far above its running
            median; None disables it.

    Raises:
        TypeError: For a ``divergence_guard`` that is neither a dict nor
            None.
    """

    NUM_FLAGS = 3

    def __init__(self,
                 check_finite: bool = True,
                 divergence_guard: Optional[Dict] = None) -> None:
        if divergence_guard is not None and not isinstance(
                divergence_guard, dict):
            raise TypeError('divergence_guard must be a dict of '
                            'DivergenceGuard arguments or None, got '
                            f'{type(divergence_guard).__name__}')
        self.check_finite = bool(check_finite)
        self.divergence = (None if divergence_guard is None else
                           DivergenceGuard(**divergence_guard))

    @property
    def active(self) -> bool:
        """Whether any check is on (else :meth:`flags` gives None)."""
        return self.check_finite or self.divergence is not None

    def flags(self,
              loss: Tensor,
              phase: str,
              params: Sequence[Tensor] = ()) -> Optional[Tensor]:
        """The stop flags of a step, on the loss's device (no host read).

        ``[non-finite loss, diverged loss, non-finite alpha/beta, loss]``:
        the flags summed over ranks under DDP (one all-reduce, so every rank
        stops at the same step; the others would hang in the next
        collective), the loss this rank's. Read them to the host together
        with whatever else the step reads, then call :meth:`verdict`.

        Args:
            loss (Tensor): The step's scalar loss.
            phase (str): ``'warmup'``, ``'weight'`` or ``'arch'``.
            params (Sequence[Tensor]): alpha/beta after an architecture
                step's update (checked for NaN/inf), or empty.

        Returns:
            Tensor or None: 4 float32 values; None when no check is on.
        """
        if not self.active:
            return None
        guard = self.divergence
        value = loss.detach().float().reshape(1)
        stream = 'arch' if phase == 'arch' else 'weights'
        limit = guard.limit(stream) if guard is not None else math.inf
        bad_params = value.new_zeros(1)
        if self.check_finite and params:
            bad_params = (~torch.isfinite(
                torch.cat([p.detach().reshape(-1).float()
                           for p in params]))).any().float().reshape(1)
        flags = torch.cat([
            (~torch.isfinite(value)).float() * float(self.check_finite),
            (value > limit).float(), bad_params
        ])
        if is_distributed():
            all_reduce(flags, op='sum')
        return torch.cat([flags, value])

    def verdict(self, values: Sequence[float], phase: str) -> None:
        """Stop on what :meth:`flags` found (its values read to the host);
        record the loss with the divergence guard otherwise.

        Raises:
            FloatingPointError: Saying which, where and what to do.
        """
        bad, diverged, bad_params, local = (float(v) for v in values)
        guard = self.divergence
        stream = 'arch' if phase == 'arch' else 'weights'
        where = (f'{local:.6g} on rank {get_rank()}; {{n}} rank(s) '
                 f'affected) in the {phase} step')
        if bad:
            hint = (' In an architecture step a zero or negative expected '
                    'cost (latency-table entries <= 0) makes the cost loss '
                    'non-finite too.' if phase == 'arch' else '')
            raise FloatingPointError(
                f'non-finite loss ({where.format(n=int(bad))}. '
                f'{checkpoint_note()}{hint}')
        if diverged:
            limit = guard.limit(stream)
            raise FloatingPointError(
                f'diverged loss ({where.format(n=int(diverged))}: above '
                f'{guard.factor:g} x the running median '
                f'{guard.median(stream):.6g} of the last '
                f'{guard.count(stream)} {stream} steps (limit '
                f'{limit:.6g}). {checkpoint_note()} To stop less readily, '
                'raise model.divergence_guard.factor; to disable the guard, '
                'set model.divergence_guard=None.')
        if bad_params:
            raise FloatingPointError(
                'alpha/beta became non-finite in an architecture step (put '
                'back to their values before it). '
                f'{checkpoint_note(before_update=False)} Lower the mutator '
                'learning rate.')
        if guard is not None:
            guard.record(stream, local)

    def check_loss(self, loss: Tensor, phase: str) -> None:
        """:meth:`flags` and :meth:`verdict` of a loss, with its own read.

        Raises:
            FloatingPointError: Saying which, where and what to do.
        """
        flags = self.flags(loss, phase)
        if flags is not None:
            self.verdict(flags.tolist(), phase)

    def check_weight_step(self, loss: Tensor, phase: str,
                          log_vars: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Stop a weight step before its update on a bad loss.

        The step's one host read: the flags with the logged values, which
        come back as CPU tensors so the loggers read nothing more from the
        device; no read when no check is on.

        Args:
            loss (Tensor): The step's scalar loss.
            phase (str): ``'warmup'`` or ``'weight'``.
            log_vars (dict[str, Tensor]): The step's logged scalars.

        Returns:
            dict[str, Tensor]: ``log_vars`` (as CPU tensors when read).

        Raises:
            FloatingPointError: Saying which, where and what to do.
        """
        flags = self.flags(loss, phase)
        if flags is None:
            return log_vars
        host_flags, host_logs = to_host([flags, stack_scalars(log_vars)])
        self.verdict(host_flags.tolist(), phase)
        return dict(zip(log_vars, host_logs.unbind()))
