"""Logs a DenseNAS search's architecture steps and epochs at their own steps.
"""
import datetime
import json
import math
import os
import os.path as osp
from typing import Any, Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.visualization import LocalVisBackend

from densenas_mm.registry import HOOKS
from .records import latest_record

#: File (in the run's ``vis_data`` folder) of the architecture-step and
#: epoch rows; mmengine's ``scalars.json`` keeps the weight steps and the
#: validations only.
SEARCH_SCALARS = 'search_scalars.json'


class _Window:
    """Sums of the architecture steps since the last log line."""

    def __init__(self) -> None:
        self.sums: Dict[str, float] = {}
        self.count = 0

    def add(self, outputs: Dict[str, Any]) -> None:
        for key, value in outputs.items():
            # detached: float() of a tensor that requires grad warns
            # (torch >= 2.x) on every architecture step
            if hasattr(value, 'detach'):
                value = value.detach()
            self.sums[key] = self.sums.get(key, 0.0) + float(value)
        self.count += 1

    def means(self) -> Dict[str, float]:
        return {k: v / self.count for k, v in self.sums.items()}


@HOOKS.register_module()
class DenseNASLoggerHook(Hook):
    """The architecture steps and epochs of a search in the logs, at their
    own steps, readable by the standard tools.

    mmengine's ``LoggerHook`` logs runner iterations, i.e. the weight steps
    of a search; this hook adds the rest, each value once:

    - every ``interval`` architecture steps (and at the last step of a
      pass) a line with the pass's progress, the ETA and the means of the
      steps since the previous line::

          Epoch(arch) [13][ 50/359]  lr: 3.0000e-04  eta: 1:02:03  time: ...
              arch_loss: ...  arch_expected_cost: ...  arch_acc_top1: ...

      and a row (``step`` = the architecture step, counted over the whole
      search) in ``<log_dir>/vis_data/search_scalars.json``;
    - after every epoch a row (``step`` = the epoch) with what the search
      loop's record holds: the derived net's costs (``derived_latency``,
      ``derived_flops``, ``derived_params``), the expected cost with all
      ops (``expected_cost_all_ops``) and the entropies.

    The rows of ``search_scalars.json`` go to the visualizer's other
    backends too (TensorBoard, W&B, ...) at those steps; mmengine's
    ``scalars.json`` keeps the weight steps and validations, so
    ``mmcls``'s ``tools/analysis_tools/analyze_logs.py`` reads either file.
    For that tool, which tells training rows by an ``lr`` key, weight rows
    get ``lr`` = the weights' learning rate and architecture rows the
    architecture parameters' (an OptimWrapperDict logs only
    ``architecture.lr`` / ``mutator.lr``).

    Args:
        interval (int): Architecture steps per log line. Defaults to 10.
        weight_wrapper (str): Optimiser of the weights. Defaults to
            ``'architecture'``.
        arch_wrapper (str): Optimiser of alpha / beta. Defaults to
            ``'mutator'``.

    Example:
        >>> default_hooks = dict(
        ...     search_logger=dict(type='densenas_mm.DenseNASLoggerHook'))
    """

    priority = 'BELOW_NORMAL'

    def __init__(self,
                 interval: int = 10,
                 weight_wrapper: str = 'architecture',
                 arch_wrapper: str = 'mutator') -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'interval must be an int >= 1, got {interval!r}')
        self.interval = interval
        self.weight_wrapper = weight_wrapper
        self.arch_wrapper = arch_wrapper
        self._window = _Window()
        self.path: Optional[str] = None

    def _lr(self, runner, wrapper: str) -> Optional[float]:
        lrs = runner.optim_wrapper.get_lr().get(f'{wrapper}.lr')
        return float(lrs[0]) if lrs else None

    def before_train(self, runner) -> None:
        """Where the rows go."""
        self.path = osp.join(runner.log_dir, 'vis_data', SEARCH_SCALARS)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """``train/lr`` for the weight rows (see the class doc)."""
        lr = self._lr(runner, self.weight_wrapper)
        if lr is not None:
            runner.message_hub.update_scalar('train/lr', lr)

    def after_arch_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch=None,
                        outputs=None) -> None:
        """Log the architecture steps every ``interval`` steps."""
        loop = runner.train_loop
        self._window.add(outputs or {})
        done, total = loop.arch_steps_done, loop.arch_steps_per_epoch
        if self._window.count < self.interval and done < total:
            return
        window, self._window = self._window, _Window()
        hub = runner.message_hub
        row: Dict[str, Any] = window.means()
        lr = self._lr(runner, self.arch_wrapper)
        if lr is not None:
            row['lr'] = lr
        for key in ('time', 'data_time'):
            buf = hub.log_scalars.get(f'arch/{key}')
            if buf is not None:
                row[key] = float(buf.mean(window.count))
        epoch, step = runner.epoch + 1, loop.arch_iter
        parts = [f'Epoch(arch) [{epoch}][{str(done).rjust(len(str(total)))}'
                 f'/{total}]']
        if lr is not None:
            parts.append(f'lr: {lr:.4e}')
        eta = hub.get_info('eta')
        if eta is not None:
            parts.append(f'eta: {datetime.timedelta(seconds=int(eta))}')
        parts += [
            f'{k}: {v:.4f}' for k, v in row.items()
            if k != 'lr' and isinstance(v, float)
        ]
        runner.logger.info('  '.join(parts))
        # other backends (TensorBoard): one namespace per kind of step
        self._write(runner, dict(row, epoch=epoch, iter=step), step, {
            (k if k.startswith('arch_') else f'arch_{k}'): v
            for k, v in row.items()
        })

    def after_train_epoch(self, runner) -> None:
        """One row of the epoch's record (``step`` = the epoch)."""
        record = latest_record(runner, self)
        row: Dict[str, Any] = dict(
            alpha_entropy=record.alpha_entropy,
            beta_entropy=record.beta_entropy)
        for metric, value in record.costs.items():
            row[f'derived_{metric}'] = value
        if record.expected_cost is not None:
            row['expected_cost_all_ops'] = record.expected_cost
        row = {
            k: float(v)
            for k, v in row.items() if math.isfinite(float(v))
        }
        self._write(runner, dict(row, epoch=record.epoch), record.epoch, row)

    def _write(self, runner, row: Dict[str, Any], step: int,
               scalars: Dict[str, float]) -> None:
        """Append ``row`` to the file; ``scalars`` to the other backends."""
        if not is_main_process():
            return
        row = dict(row, step=step)
        os.makedirs(osp.dirname(self.path), exist_ok=True)
        with open(self.path, 'a', encoding='utf-8') as f:
            f.write(json.dumps(row) + '\n')
        backends = getattr(runner.visualizer, '_vis_backends', {})
        for backend in backends.values():
            if not isinstance(backend, LocalVisBackend):
                backend.add_scalars(scalars, step=step)
