"""Writes the derived architecture of every search epoch."""
import os.path as osp
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from densenas_mm.registry import HOOKS
from densenas_mm.utils.io import write_text_atomic
from .records import latest_record


@HOOKS.register_module()
class DenseNASArchHook(Hook):
    """Log and save the architecture derived after every training epoch.

    The hook observes: it writes the architecture of the search loop's
    epoch record (``runner.train_loop.latest_record``). Files in
    ``work_dir/<out_dir>/`` (written atomically by rank 0; every rank holds
    identical alphas/betas, so every rank derives the same):

    - ``epoch_<N>.yaml``: the derived architecture (``DerivedArch`` YAML,
      also an mmrazor fix_subnet for the supernet) with its path, predicted
      latency / FLOPs / params and the epoch's phase in ``meta``;
    - ``epoch_<N>.net_config``: the reference net_config string;
    - ``last.yaml``: the newest; ``best.yaml``: the one of the epoch with the
      best supernet validation score (``best_metric``), or the newest while
      no validation has run.

    Args:
        out_dir (str): Folder under the work dir. Defaults to ``'arch'``.
        best_metric (str): Validation metric choosing ``best.yaml``.
        rule (str): ``'greater'`` or ``'less'``.
    """

    priority = 'LOW'

    def __init__(self,
                 out_dir: str = 'arch',
                 best_metric: str = 'accuracy/top1',
                 rule: str = 'greater') -> None:
        if rule not in ('greater', 'less'):
            raise ValueError(f"rule must be 'greater' or 'less', got {rule!r}")
        self.out_dir = out_dir
        self.best_metric = best_metric
        self.rule = rule
        self._best: Optional[float] = None
        self._has_val = False

    def folder(self, runner) -> str:
        """Absolute output folder."""
        return osp.join(runner.work_dir, self.out_dir)

    def after_train_epoch(self, runner) -> None:
        """Save the architecture of the finished epoch."""
        record = latest_record(runner, self)
        arch, epoch = record.arch, record.epoch
        meta: Dict = arch.meta
        costs_txt = ', '.join(f'{k}: {v}' for k, v in meta.items()
                              if k not in ('epoch', 'phase'))
        runner.logger.info(
            f'Epoch(search) [{epoch}] {meta["phase"]}: derived path '
            f'{arch.path}; {costs_txt}; net_config: {arch.to_net_config()}')
        if not is_main_process():
            return
        folder = self.folder(runner)
        path = osp.join(folder, f'epoch_{epoch}.yaml')
        arch.dump(path)
        write_text_atomic(arch.to_net_config() + '\n',
                          osp.join(folder, f'epoch_{epoch}.net_config'))
        self._copy(path, osp.join(folder, 'last.yaml'))
        if not self._has_val:
            self._copy(path, osp.join(folder, 'best.yaml'))

    def after_val_epoch(self, runner, metrics: Optional[Dict] = None) -> None:
        """Keep the architecture of the best-validated epoch."""
        if not metrics or self.best_metric not in metrics:
            return
        score = float(metrics[self.best_metric])
        better = (
            self._best is None or (score > self._best if self.rule == 'greater'
                                   else score < self._best))
        self._has_val = True
        if not better:
            return
        self._best = score
        if is_main_process():
            last = osp.join(self.folder(runner), 'last.yaml')
            if osp.exists(last):
                self._copy(last, osp.join(self.folder(runner), 'best.yaml'))
                runner.logger.info(
                    f'best architecture so far ({self.best_metric} = '
                    f'{score:.3f}) saved to best.yaml')

    # best.yaml must survive a resume: without its score the first epoch
    # after resuming would overwrite the best architecture.
    _CKPT_KEY = 'densenas_arch_hook'

    def before_save_checkpoint(self, runner, checkpoint: Dict) -> None:
        """Store the best score so far in the checkpoint's meta."""
        checkpoint.setdefault('meta', {})[self._CKPT_KEY] = dict(
            best=self._best, has_val=self._has_val)

    def after_load_checkpoint(self, runner, checkpoint: Dict) -> None:
        """Restore the best score on resume."""
        state = checkpoint.get('meta', {}).get(self._CKPT_KEY)
        if state:
            self._best = state.get('best')
            self._has_val = bool(state.get('has_val', False))

    @staticmethod
    def _copy(src: str, dst: str) -> None:
        with open(src, encoding='utf-8') as f:
            write_text_atomic(f.read(), dst)
