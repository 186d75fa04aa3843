"""The DenseNAS search loop: architecture pass, then weight pass, per epoch."""
import time
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
    they step the weight LR schedule, the iteration hooks and the ETA, so
    ``max_iters`` is ``max_epochs * len(dataloader)`` as for an ordinary run.
    Architecture steps log their values (prefixed ``arch_``) into the
    message hub, where the logger shows them with the next weight
    iterations, and a one-line summary after each architecture pass. At the
    end of every epoch the loop appends an :class:`EpochRecord` (derived
    architecture, entropies, costs, step means) to :attr:`records`, which
    the DenseNAS hooks read in ``after_train_epoch``.

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
        self.records: List[EpochRecord] = []
        self._arch_iter: Optional[Iterator] = None
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
            memory_format='channels_last'
            if algo.channels_last else 'contiguous')

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
        self._arch_iter = None
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
    def _arch_step(self, idx: int, data_batch) -> Dict[str, float]:
        seed = step_seed(self.algorithm.sample_seed, 'arch', self._epoch, idx)
        outputs = self.runner.model.train_step(
            search_batch(data_batch, 'arch', seed),
            optim_wrapper=self.runner.optim_wrapper)
        self._arch_means.add(outputs)
        scalars = {k: float(v) for k, v in outputs.items()}
        hub = self.runner.message_hub
        for key, value in scalars.items():
            hub.update_scalar(f'train/{key}', value)
        return scalars

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
        if self._arch_iter is None:
            self._arch_iter = iter(self.arch_dataloader)
        try:
            return next(self._arch_iter)
        except StopIteration:
            self._arch_iter = iter(self.arch_dataloader)
            return next(self._arch_iter)
