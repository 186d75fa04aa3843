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
- ``DenseNASTestRecordingBackend``: a visualizer backend that records every
  scalar with its step (what TensorBoard would plot) in
  ``<log_dir>/recorded_scalars.json``.
- ``DenseNASTestDivergeHook``: at the start of epoch ``epoch`` (0-based) the
  classifier weights are multiplied by ``scale`` (one ``rank`` or all): the
  loss stays finite but explodes.
- ``DenseNASTestSleepHook``: rank ``rank`` sleeps ``seconds`` after
  weight step ``iter`` of epoch ``epoch`` (both 1-based): a frozen rank.
- ``DenseNASTestStallSaveHook``: the checkpoint of epoch ``epoch`` (1-based)
  is written half, then the process signals ``marker`` and waits to be
  killed (a slow disk and a kill -9 in the middle of a save).
"""
import json
import os
import os.path as osp
import signal
import time

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import VISBACKENDS
from mmengine.visualization import BaseVisBackend

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


@HOOKS.register_module(force=True)
class DenseNASTestSleepHook(Hook):
    """Rank ``rank`` sleeps ``seconds`` after weight step ``iter`` of epoch
    ``epoch`` (1-based), as a frozen process would."""

    def __init__(self, epoch: int, iter: int, rank: int = 1,
                 seconds: float = 300.0) -> None:
        self.epoch, self.iter = epoch, iter
        self.rank, self.seconds = rank, seconds

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if (get_rank() == self.rank and runner.epoch + 1 == self.epoch
                and batch_idx + 1 == self.iter):
            time.sleep(self.seconds)


# mmengine's registry: the package has no backend of its own, and an
# unprefixed type is found there from any scope
@VISBACKENDS.register_module(force=True)
class DenseNASTestRecordingBackend(BaseVisBackend):
    """Records ``(key, value, step)`` of every scalar, as TensorBoard's
    backend would receive them."""

    @property
    def experiment(self):
        return self

    def _init_env(self) -> None:
        os.makedirs(self._save_dir, exist_ok=True)
        self._file = osp.join(self._save_dir, 'recorded_scalars.json')

    def add_scalars(self, scalar_dict, step=0, file_path=None, **kwargs):
        if not hasattr(self, '_file'):
            self._init_env()
        with open(self._file, 'a') as f:
            for key, value in scalar_dict.items():
                f.write(json.dumps([key, value, step]) + '\n')

    def add_scalar(self, name, value, step=0, **kwargs):
        self.add_scalars({name: value}, step)


@HOOKS.register_module(force=True)
class DenseNASTestDivergeHook(Hook):

    priority = 'LOWEST'

    def __init__(self, epoch: int, scale: float = 1e4, rank=None) -> None:
        self.epoch, self.scale, self.rank = epoch, scale, rank

    def before_train_epoch(self, runner) -> None:
        if runner.epoch == self.epoch and self.rank in (None, get_rank()):
            model = _unwrap(runner.model)
            head = getattr(model, 'architecture', model).head
            with torch.no_grad():
                head.fc.weight.mul_(self.scale)


@HOOKS.register_module(force=True)
class DenseNASTestStallSaveHook(Hook):
    """Stalls the write of epoch ``epoch``'s checkpoint half-way.

    mmengine writes a checkpoint with ``LocalBackend.put(bytes, path)``; at
    the chosen epoch that call writes the first half, fsyncs it, creates
    ``marker`` and sleeps until the test kills the process.
    """

    def __init__(self, epoch: int, marker: str) -> None:
        self.epoch, self.marker = epoch, marker

    def before_save_checkpoint(self, runner, checkpoint) -> None:
        if checkpoint.get('meta', {}).get('epoch') != self.epoch:
            return
        from mmengine.fileio.backends.local_backend import LocalBackend
        marker = self.marker

        def stalled_put(backend, obj: bytes, filepath) -> None:
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
                os.fsync(f.fileno())
            with open(marker, 'w') as f:
                f.write(str(filepath))
            while True:
                time.sleep(1)

        LocalBackend.put = stalled_put
