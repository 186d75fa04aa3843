"""Checks every N steps that all ranks search the same architecture, and
that every rank is still there."""
from typing import Any, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from densenas_mm.models.algorithms.ddp import (check_ranks_agree, dist_timeout,
                                              wait_for_ranks)
from densenas_mm.registry import HOOKS


@HOOKS.register_module()
class DenseNASRankCheckHook(Hook):
    """Every ``interval`` weight steps and architecture steps, check that
    all ranks hold the same alpha/beta and ran the same sampled ops
    (:func:`~densenas_mm.models.algorithms.ddp.check_ranks_agree`: one
    all-reduce of 6 float64 numbers); stop the run with a clear error when
    they differ. Does nothing in a one-process run.

    Before each check and at the start of every epoch, a gloo run passes a
    monitored barrier (:func:`~densenas_mm.models.algorithms.ddp.
    wait_for_ranks`) with the run's ``env_cfg.dist_cfg.timeout``: a rank
    that does not arrive (frozen, dead) stops the run with a message naming
    it, instead of a silent wait.

    Args:
        interval (int): Steps between checks (each kind of step counted on
            its own: ``runner.iter`` / the loop's ``arch_iter``).
    """

    priority = 'LOW'

    def __init__(self, interval: int = 50) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'interval must be an int >= 1, got {interval!r}')
        self.interval = interval

    def _check(self, runner, step: str) -> None:
        wait_for_ranks(f'the rank check at {step}', dist_timeout(runner.cfg))
        model = runner.model
        model = model.module if is_model_wrapper(model) else model
        check_ranks_agree(model.mutator, step=step)

    def before_train_epoch(self, runner) -> None:
        """Every rank reaches the epoch (gloo: named if one does not)."""
        wait_for_ranks(f'the start of epoch {runner.epoch + 1}',
                       dist_timeout(runner.cfg))

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        """Check after every ``interval``-th weight step."""
        if self.every_n_train_iters(runner, self.interval):
            self._check(runner, f'weight step {runner.iter + 1}')

    def after_arch_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: Any = None,
                        outputs: Optional[dict] = None) -> None:
        """Check after every ``interval``-th architecture step (the
        search loop's hook point)."""
        step = getattr(runner.train_loop, 'arch_iter', batch_idx) + 1
        if step % self.interval == 0:
            self._check(runner, f'architecture step {step}')
