"""The DenseNAS search loop: architecture pass, then weight pass, per epoch."""
import time
from typing import Dict, Iterator, List, Optional, Sequence, Union

from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from densenas_mm.models.algorithms import search_batch, step_seed
from densenas_mm.registry import LOOPS

MODES = ('epochwise', 'interleaved')


@LOOPS.register_module()
class DenseNASSearchLoop(EpochBasedTrainLoop):
    """Epoch-based search loop with a second (architecture) dataloader.

    Once architecture updates are on (see ``DenseNASWarmupHook``), each
    epoch runs

    - ``mode='epochwise'`` (the reference): a full architecture pass over
      ``arch_dataloader`` (search-val), then the weight pass over
      ``dataloader`` (search-train);
    - ``mode='interleaved'``: one architecture step before every
      ``arch_interval``-th weight step, cycling ``arch_dataloader``.

    Only weight steps are runner iterations: they step the weight LR
    schedule, the iteration hooks and the ETA, so ``max_iters`` is
    ``max_epochs * len(dataloader)`` as for an ordinary run. Architecture
    steps log their values (prefixed ``arch_``) into the message hub, where
    the logger shows them with the next weight iterations, and a one-line
    summary after each architecture pass. Both samplers are re-seeded per
    epoch; op sampling is seeded from (seed, phase, epoch, batch).

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
        self._arch_iter: Optional[Iterator] = None

    @property
    def algorithm(self):
        """The DenseNAS algorithm (unwrapped)."""
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    # ------------------------------------------------------------- epoch
    def run_epoch(self) -> None:
        """Arch pass (if on), then the weight pass, of one epoch."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        for loader in (self.dataloader, self.arch_dataloader):
            sampler = getattr(loader, 'sampler', None)
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(self._epoch)
        self._arch_iter = None
        searching = self.algorithm.arch_updates_enabled
        if searching and self.mode == 'epochwise':
            self._run_arch_pass()
        for idx, data_batch in enumerate(self.dataloader):
            if (searching and self.mode == 'interleaved'
                    and idx % self.arch_interval == 0):
                self._arch_step(idx // self.arch_interval,
                                self._next_arch_batch())
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def run_iter(self, idx: int, data_batch: Sequence[dict]) -> None:
        """One weight step (a runner iteration)."""
        self.runner.call_hook(
            'before_train_iter', batch_idx=idx, data_batch=data_batch)
        seed = step_seed(self.algorithm.sample_seed, 'weight', self._epoch,
                         idx)
        outputs = self.runner.model.train_step(
            search_batch(data_batch, 'weight', seed),
            optim_wrapper=self.runner.optim_wrapper)
        self.runner.call_hook(
            'after_train_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
        self._iter += 1

    # ------------------------------------------------------ arch steps
    def _arch_step(self, idx: int, data_batch) -> Dict[str, float]:
        seed = step_seed(self.algorithm.sample_seed, 'arch', self._epoch, idx)
        outputs = self.runner.model.train_step(
            search_batch(data_batch, 'arch', seed),
            optim_wrapper=self.runner.optim_wrapper)
        scalars = {k: float(v) for k, v in outputs.items()}
        hub = self.runner.message_hub
        for key, value in scalars.items():
            hub.update_scalar(f'train/{key}', value)
        return scalars

    def _run_arch_pass(self) -> None:
        start = time.time()
        totals: Dict[str, float] = {}
        count = 0
        for idx, data_batch in enumerate(self.arch_dataloader):
            for key, value in self._arch_step(idx, data_batch).items():
                totals[key] = totals.get(key, 0.0) + value
            count += 1
        if count:
            means = ', '.join(f'{k}: {v / count:.4f}'
                              for k, v in sorted(totals.items()))
            self.runner.logger.info(
                f'Epoch(search) [{self._epoch + 1}] architecture pass: '
                f'{count} steps in {time.time() - start:.1f}s, {means}')

    def _next_arch_batch(self):
        if self._arch_iter is None:
            self._arch_iter = iter(self.arch_dataloader)
        try:
            return next(self._arch_iter)
        except StopIteration:
            self._arch_iter = iter(self.arch_dataloader)
            return next(self._arch_iter)
