"""Step timing and the ETA of a whole DenseNAS search."""
import time
from typing import Dict, Optional

from mmengine.hooks import IterTimerHook

from densenas_mm.registry import HOOKS


@HOOKS.register_module()
class DenseNASTimerHook(IterTimerHook):
    """mmengine's ``IterTimerHook`` for a search: the ETA covers everything
    left, weight steps, architecture steps and supernet validation.

    mmengine's timer only sees runner iterations (the weight steps), so on a
    search its ETA leaves out the architecture passes and the validations.
    This hook times the three kinds of work separately (wall time from the
    end of the previous step, data loading included; validation per batch)
    and sets the message hub's ``eta`` to ::

        weight_left * t_weight + arch_left * t_arch + val_left * t_val

    with the counts from ``runner.train_loop.remaining_work()``. Until an
    architecture step or a validation has been timed (during warm-up), it
    costs ``arch_step_cost`` (``val_batch_cost``) weight steps: 2.0 is the
    ratio measured on the paper's space (docs/benchmarks.md, 3.2). It also
    logs ``arch/time`` and ``arch/data_time`` per architecture step (read
    by ``DenseNASLoggerHook``) and keeps the weight steps' ``time`` free of
    the architecture steps that run between them.

    Args:
        arch_step_cost (float): Prior cost of an architecture step, in
            weight steps.
        val_batch_cost (float): Prior cost of a validation batch, in weight
            steps.

    Example:
        >>> default_hooks = dict(
        ...     timer=dict(type='densenas_mm.DenseNASTimerHook'))
    """

    priority = 'NORMAL'

    def __init__(self,
                 arch_step_cost: float = 2.0,
                 val_batch_cost: float = 1.0) -> None:
        super().__init__()
        for name, value in (('arch_step_cost', arch_step_cost),
                            ('val_batch_cost', val_batch_cost)):
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f'{name} must be a number > 0, got '
                                 f'{value!r}')
        self.arch_step_cost = float(arch_step_cost)
        self.val_batch_cost = float(val_batch_cost)
        self._sums: Dict[str, float] = dict(weight=0.0, arch=0.0, val=0.0)
        self._counts: Dict[str, int] = dict(weight=0, arch=0, val=0)
        self._val_start = 0.0

    def _add(self, kind: str, seconds: float, count: int = 1) -> None:
        self._sums[kind] += seconds
        self._counts[kind] += count

    def mean(self, kind: str) -> Optional[float]:
        """Mean seconds of a ``'weight'`` / ``'arch'`` step or a ``'val'``
        batch so far (None before the first)."""
        n = self._counts[kind]
        return self._sums[kind] / n if n else None

    def eta(self, runner) -> Optional[float]:
        """Seconds left of the whole search (None before the first step)."""
        weight, arch, val = (self.mean(k) for k in ('weight', 'arch', 'val'))
        if weight is None and arch is None:
            return None
        if weight is None:
            weight = arch / self.arch_step_cost
        arch = self.arch_step_cost * weight if arch is None else arch
        val = self.val_batch_cost * weight if val is None else val
        left = runner.train_loop.remaining_work()
        return (left.weight_steps * weight + left.arch_steps * arch +
                left.val_batches * val)

    def _update_eta(self, runner) -> None:
        eta = self.eta(runner)
        if eta is not None:
            runner.message_hub.update_info('eta', eta)

    # --------------------------------------------------------- hook points
    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Time the weight step; the ETA of the whole search."""
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        self._add('weight',
                  runner.message_hub.get_scalar('train/time').current())
        self._update_eta(runner)

    def before_arch_iter(self, runner, batch_idx: int,
                         data_batch=None) -> None:
        """Data time of an architecture step."""
        runner.message_hub.update_scalar('arch/data_time',
                                         time.time() - self.t)

    def after_arch_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch=None,
                        outputs=None) -> None:
        """Time the architecture step; restart the weight steps' clock."""
        now = time.time()
        seconds, self.t = now - self.t, now
        self._add('arch', seconds)
        runner.message_hub.update_scalar('arch/time', seconds)
        self._update_eta(runner)

    def before_val_epoch(self, runner) -> None:
        """Start timing a validation."""
        super().before_val_epoch(runner)
        self._val_start = time.time()

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Time the validation per batch."""
        super().after_val_epoch(runner, metrics)
        batches = len(runner.val_dataloader)
        if batches:
            self._add('val', time.time() - self._val_start, batches)
