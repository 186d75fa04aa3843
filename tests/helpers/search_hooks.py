"""Test-only hooks, imported by the search-run configs of
``test_search_runs.py`` through ``custom_imports`` (the test puts the
``tests`` folder on PYTHONPATH of the subprocesses).

- ``DenseNASTestDumpHook``: every rank writes its model's state dict to
  ``work_dir/state_rank{R}.pt`` at the end of training (rank 0 alone saves
  checkpoints, so this is how the test sees what the other ranks hold).
- ``DenseNASTestKillHook``: the process kills itself (SIGKILL, as
  ``kill -9``) after weight step ``iter`` of epoch ``epoch``, or right after
  epoch ``epoch`` was checkpointed when ``iter`` is None (an interrupted
  job).
- ``DenseNASTestNaNHook``: at the start of epoch ``epoch`` (0-based) the
  classifier weights become NaN (on one ``rank`` or all), as a diverged
  run's would.
"""
import os
import os.path as osp
import signal

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from densenas_mm.registry import HOOKS


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module(force=True)
class DenseNASTestDumpHook(Hook):

    def after_train(self, runner) -> None:
        state = {
            k: v.detach().cpu().clone()
            for k, v in _unwrap(runner.model).state_dict().items()
        }
        torch.save(state,
                   osp.join(runner.work_dir, f'state_rank{get_rank()}.pt'))


@HOOKS.register_module(force=True)
class DenseNASTestNaNHook(Hook):

    priority = 'LOWEST'

    def __init__(self, epoch: int, rank=None) -> None:
        self.epoch = epoch
        self.rank = rank  # None: every rank

    def before_train_epoch(self, runner) -> None:
        if runner.epoch == self.epoch and self.rank in (None, get_rank()):
            with torch.no_grad():
                _unwrap(runner.model).architecture.head.fc.weight.fill_(
                    float('nan'))


@HOOKS.register_module(force=True)
class DenseNASTestKillHook(Hook):
    """Kills the process (SIGKILL: no clean-up, data workers orphaned) after
    weight step ``iter`` (1-based) of epoch ``epoch`` (1-based), or after
    the epoch was checkpointed when ``iter`` is None."""

    priority = 'LOWEST'  # after the CheckpointHook

    def __init__(self, epoch: int, iter=None) -> None:
        self.epoch = epoch
        self.iter = iter

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if (self.iter is not None and runner.epoch + 1 == self.epoch
                and batch_idx + 1 == self.iter):
            os.kill(os.getpid(), signal.SIGKILL)

    def after_train_epoch(self, runner) -> None:
        if self.iter is None and runner.epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)
