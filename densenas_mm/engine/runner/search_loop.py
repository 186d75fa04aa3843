"""The DenseNAS search loop: architecture pass, then weight pass, per epoch."""
import math
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from densenas_mm.models.algorithms import search_batch, step_seed
from densenas_mm.registry import LOOPS
from ..optim.precision import compute_dtype
from .epoch_record import EpochRecord

MODES = ('epochwise', 'interleaved')
#: Message-hub info key of the number of architecture steps run so far (it
#: travels with the message hub into checkpoints, so a resume continues it).
ARCH_ITER_KEY = 'densenas/arch_iter'


@dataclass
class RemainingWork:
    """What is left of a search (:meth:`DenseNASSearchLoop.remaining_work`).

    Attributes:
        weight_steps (int): Weight steps (runner iterations) left.
        arch_steps (int): Architecture steps left, this epoch's included.
        val_batches (int): Supernet validation batches left.
    """
    weight_steps: int
    arch_steps: int
    val_batches: int


class _Means:
    """Running sums of step log values (tensors summed without a host
    sync; one copy per key when the means are read)."""

    def __init__(self) -> None:
        self.sums: Dict[str, Any] = {}
        self.count = 0

    def add(self, outputs: Dict[str, Any]) -> None:
        for key, value in outputs.items():
            value = value.detach() if isinstance(value,
                                                 torch.Tensor) else value
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.count += 1

    def means(self) -> Dict[str, float]:
        return {k: float(v) / self.count for k, v in self.sums.items()}


@LOOPS.register_module()
class DenseNASSearchLoop(EpochBasedTrainLoop):
    """Epoch-based search loop with a second (architecture) dataloader.

    Whether an epoch updates the architecture is set by one explicit call,
    :meth:`set_arch_updates`, which ``DenseNASWarmupHook`` makes from
    ``runner.epoch`` before every epoch. Once architecture updates are on,
    each epoch runs

    - ``mode='epochwise'`` (the reference): a full architecture pass over
      ``arch_dataloader`` (search-val), then the weight pass over
      ``dataloader`` (search-train);
    - ``mode='interleaved'``: one architecture step before every
      ``arch_interval``-th weight step, cycling ``arch_dataloader``.

    Every batch goes to ``train_step`` tagged with its phase (``'warmup'``,
    ``'weight'`` or ``'arch'``) and its sampling seed, derived from
    (seed, pass, epoch, batch). Only weight steps are runner iterations:
    they step the weight LR schedule and the iteration hooks, so
    ``max_iters`` is ``max_epochs * len(dataloader)`` as for an ordinary run.
    Architecture steps are counted by :attr:`arch_iter` and call the hook
    points ``before_arch_iter`` / ``after_arch_iter`` (``batch_idx``,
    ``data_batch``; ``outputs`` after), where ``DenseNASLoggerHook`` logs
    them at their own step and ``DenseNASTimerHook`` times them; their
    values do not enter the message hub's ``train/`` scalars, so the weight
    iterations' log lines carry only their own values.
    :meth:`remaining_work` says how many weight steps, architecture steps
    and validation batches are left (the ETA). At the end of every epoch the
    loop appends an :class:`EpochRecord` (derived architecture, entropies,
    costs, step means) to :attr:`records`, which the DenseNAS hooks read in
    ``after_train_epoch``.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Search-train loader (weights).
        arch_dataloader (DataLoader | dict): Search-val loader (arch).
        max_epochs (int): Total epochs.
        val_begin (int): First epoch to validate the supernet.
        val_interval (int): Supernet validation interval in epochs.
        mode (str): ``'epochwise'`` or ``'interleaved'``.
        arch_interval (int): Weight steps per arch step (interleaved).
        dynamic_intervals (list, optional): As in ``EpochBasedTrainLoop``.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 arch_dataloader: Union[DataLoader, Dict],
                 max_epochs: int,
                 val_begin: int = 1,
                 val_interval: int = 1,
                 mode: str = 'epochwise',
                 arch_interval: int = 1,
                 dynamic_intervals: Optional[List] = None) -> None:
        if mode not in MODES:
            raise ValueError(f'search loop mode must be one of {MODES}, got '
                             f'{mode!r}')
        if int(arch_interval) < 1:
            raise ValueError(f'arch_interval must be >= 1, got '
                             f'{arch_interval}')
        super().__init__(runner, dataloader, max_epochs, val_begin,
                         val_interval, dynamic_intervals)
        if isinstance(arch_dataloader, dict):
            diff_rank_seed = runner._randomness_cfg.get(
                'diff_rank_seed', False)
            arch_dataloader = runner.build_dataloader(
                arch_dataloader,
                seed=runner.seed,
                diff_rank_seed=diff_rank_seed)
        self.arch_dataloader = arch_dataloader
        self.mode = mode
        self.arch_interval = int(arch_interval)
        self.arch_updates: Optional[bool] = None
        self.arch_start_epoch: Optional[int] = None
        self.records: List[EpochRecord] = []
        self._weight_done = 0  # steps of the current epoch
        self._arch_done = 0
        self._arch_batches: Optional[Iterator] = None
        self._weight_means = _Means()
        self._arch_means = _Means()

    @property
    def algorithm(self):
        """The DenseNAS algorithm (unwrapped)."""
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def set_arch_updates(self, enabled: bool) -> None:
        """Switch architecture updates on or off for the coming epochs.

        Args:
            enabled (bool): On: architecture passes run and weight steps
                sample ops from softmax(alpha). Off (warm-up): weight steps
                only, ops sampled uniformly.
        """
        self.arch_updates = bool(enabled)

    def plan_arch_updates(self, start_epoch: int) -> None:
        """Say from which epoch (0-based) on architecture updates run, so
        that :meth:`remaining_work` can count the passes still to come
        (``DenseNASWarmupHook`` calls it with ``warmup_epochs``)."""
        self.arch_start_epoch = int(start_epoch)

    @property
    def arch_iter(self) -> int:
        """Architecture steps run so far (resumed runs included)."""
        return int(self.runner.message_hub.get_info(ARCH_ITER_KEY, 0))

    @property
    def arch_steps_done(self) -> int:
        """Architecture steps the current epoch has run."""
        return self._arch_done

    @property
    def arch_steps_per_epoch(self) -> int:
        """Architecture steps of one searching epoch."""
        if self.mode == 'epochwise':
            return len(self.arch_dataloader)
        return math.ceil(len(self.dataloader) / self.arch_interval)

    def _searches(self, epoch: int) -> bool:
        """Whether 0-based ``epoch`` updates the architecture."""
        if epoch == self._epoch and self.arch_updates is not None:
            return self.arch_updates
        if self.arch_start_epoch is not None:
            return epoch >= self.arch_start_epoch
        return bool(self.arch_updates)

    def _validates(self, epoch: int) -> bool:
        """Whether supernet validation runs after 0-based ``epoch``."""
        done = epoch + 1
        return (self.runner.val_loop is not None and done >= self.val_begin
                and (done % self.val_interval == 0
                     or done == self._max_epochs))

    def remaining_work(self) -> RemainingWork:
        """Weight steps, architecture steps and validation batches left,
        counted from the steps the current epoch has run."""
        per_epoch = len(self.dataloader)
        future = range(self._epoch + 1, self._max_epochs)
        arch = sum(self.arch_steps_per_epoch for e in future
                   if self._searches(e))
        if self._searches(self._epoch):
            arch += max(self.arch_steps_per_epoch - self._arch_done, 0)
        val = 0
        if self.runner.val_loop is not None:
            val = len(self.runner.val_loop.dataloader) * sum(
                1 for e in range(self._epoch, self._max_epochs)
                if self._validates(e))
        return RemainingWork(
            weight_steps=per_epoch - self._weight_done +
            per_epoch * len(future),
            arch_steps=arch,
            val_batches=val)

    def run(self) -> torch.nn.Module:
        """Check the latency table against this run, then search."""
        self.check_cost_setting()
        return super().run()

    def run_setting(self) -> Dict[str, Any]:
        """Batch size, dtype and memory format the architecture steps (the
        ones the cost term guides) run with."""
        wrapper = self.runner.optim_wrapper
        if isinstance(wrapper, dict) or hasattr(wrapper, 'optim_wrappers'):
            wrapper = wrapper['mutator']
        algo = self.algorithm
        return dict(
            batch_size=getattr(self.arch_dataloader, 'batch_size', None),
            dtype=compute_dtype(wrapper, algo.architecture),
            memory_format=algo.memory_format)

    def check_cost_setting(self) -> List[str]:
        """Warn (or fail, with ``on_mismatch='error'``) when the latency
        table was measured at another batch size, dtype or memory format
        than this run's architecture steps use.

        Done here, before the first step, because the loop is what sees the
        real dataloader and optimiser wrappers (the algorithm builds its
        estimator before either exists).
        """
        estimator = getattr(self.algorithm, 'estimator', None)
        if estimator is None or not hasattr(estimator, 'check_setting'):
            return []
        setting = self.run_setting()
        msgs = estimator.check_setting(**setting)
        for msg in msgs:
            self.runner.logger.warning(msg)
        return msgs

    @property
    def latest_record(self) -> Optional[EpochRecord]:
        """The record of the last finished epoch (None before the first)."""
        return self.records[-1] if self.records else None

    # ------------------------------------------------------------- epoch
    def run_epoch(self) -> None:
        """Arch pass (if on), then the weight pass, of one epoch."""
        self.runner.call_hook('before_train_epoch')
        if self.arch_updates is None:
            raise RuntimeError(
                'DenseNASSearchLoop: nothing said whether this epoch updates '
                'the architecture. Add dict(type=\'densenas_mm.'
                'DenseNASWarmupHook\', warmup_epochs=N) to custom_hooks '
                '(warmup_epochs=0 searches from the first epoch).')
        self.runner.model.train()
        for loader in (self.dataloader, self.arch_dataloader):
            sampler = getattr(loader, 'sampler', None)
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(self._epoch)
        self._arch_batches = None
        self._weight_done = self._arch_done = 0
        self._weight_means, self._arch_means = _Means(), _Means()
        searching = self.arch_updates
        if searching and self.mode == 'epochwise':
            self._run_arch_pass()
        for idx, data_batch in enumerate(self.dataloader):
            if (searching and self.mode == 'interleaved'
                    and idx % self.arch_interval == 0):
                self._arch_step(idx // self.arch_interval,
                                self._next_arch_batch())
            self.run_iter(idx, data_batch)
        self.records.append(self._make_record())
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def run_iter(self, idx: int, data_batch: Sequence[dict]) -> None:
        """One weight step (a runner iteration)."""
        self.runner.call_hook(
            'before_train_iter', batch_idx=idx, data_batch=data_batch)
        seed = step_seed(self.algorithm.sample_seed, 'weight', self._epoch,
                         idx)
        phase = 'weight' if self.arch_updates else 'warmup'
        outputs = self.runner.model.train_step(
            search_batch(data_batch, phase, seed),
            optim_wrapper=self.runner.optim_wrapper)
        self._weight_means.add(outputs)
        self._weight_done += 1
        self.runner.call_hook(
            'after_train_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
        self._iter += 1

    def _make_record(self) -> EpochRecord:
        algo = self.algorithm
        epoch = self._epoch + 1
        phase = 'search' if self.arch_updates else 'warmup'
        snap = algo.snapshot(meta=dict(epoch=epoch, phase=phase))
        meta = {k: round(float(v), 4) for k, v in snap.costs.items()}
        if snap.expected_cost is not None:
            meta['expected_cost_all_ops'] = round(snap.expected_cost, 4)
        snap.arch.meta.update(meta)
        estimator = algo.estimator
        return EpochRecord(
            epoch=epoch,
            phase=phase,
            arch=snap.arch,
            alpha_entropy=snap.alpha_entropy,
            beta_entropy=snap.beta_entropy,
            expected_cost=snap.expected_cost,
            costs=snap.costs,
            cost_metric=getattr(estimator, 'metric', None),
            weight_means=self._weight_means.means(),
            arch_means=self._arch_means.means(),
            weight_steps=self._weight_means.count,
            arch_steps=self._arch_means.count)

    # ------------------------------------------------------ arch steps
    def _arch_step(self, idx: int, data_batch) -> Dict[str, Any]:
        self.runner.call_hook(
            'before_arch_iter', batch_idx=idx, data_batch=data_batch)
        seed = step_seed(self.algorithm.sample_seed, 'arch', self._epoch, idx)
        outputs = self.runner.model.train_step(
            search_batch(data_batch, 'arch', seed),
            optim_wrapper=self.runner.optim_wrapper)
        self._arch_means.add(outputs)
        self._arch_done += 1
        self.runner.message_hub.update_info(ARCH_ITER_KEY, self.arch_iter + 1)
        self.runner.call_hook(
            'after_arch_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
        return outputs

    def _run_arch_pass(self) -> None:
        start = time.time()
        for idx, data_batch in enumerate(self.arch_dataloader):
            self._arch_step(idx, data_batch)
        if self._arch_means.count:
            means = ', '.join(
                f'{k}: {v:.4f}'
                for k, v in sorted(self._arch_means.means().items()))
            self.runner.logger.info(
                f'Epoch(search) [{self._epoch + 1}] architecture pass: '
                f'{self._arch_means.count} steps in '
                f'{time.time() - start:.1f}s, {means}')

    def _next_arch_batch(self):
        if self._arch_batches is None:
            self._arch_batches = iter(self.arch_dataloader)
        try:
            return next(self._arch_batches)
        except StopIteration:
            self._arch_batches = iter(self.arch_dataloader)
            return next(self._arch_batches)
