"""Draws the state of a DenseNAS search as PNG files every few epochs."""
import json
import os.path as osp
from typing import Dict, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from densenas_mm.registry import HOOKS
from densenas_mm.utils.io import write_text_atomic


@HOOKS.register_module()
class DenseNASVisualizationHook(Hook):
    """Pictures of the search: supernet graph, alphas, betas, curves.

    After every ``interval``-th training epoch (and the last one) rank 0
    writes to ``work_dir/<out_dir>/``:

    - ``supernet_epoch_<N>.png``: the dense supernet, nodes by stage, edge
      widths by p_ij, the derived path and its ops in red;
    - ``alphas_epoch_<N>.png``: softmax(alpha) heatmaps (head / stacking
      layers);
    - ``betas_epoch_<N>.png``: softmax(beta) per source block;
    - ``curves.png``: expected and derived latency, CE, accuracy (train,
      supernet validation) and mean alpha / beta entropy per epoch;
    - ``history.json``: the numbers behind ``curves.png``;

    and copies the newest pictures to ``supernet.png``, ``alphas.png`` and
    ``betas.png``. With ``add_image=True`` the pictures also go to the
    runner's visualizer backends (``LocalVisBackend``: ``vis_data/
    vis_image``; ``TensorboardVisBackend``: the images tab). On resume the
    history is read back and cut at the resumed epoch.

    Args:
        interval (int): Draw every ``interval`` epochs. Defaults to 1.
        out_dir (str): Folder under the work dir. Defaults to ``'vis'``.
        add_image (bool): Also log through ``runner.visualizer``.

    Example:
        >>> custom_hooks = [dict(type='densenas_mm.DenseNASVisualizationHook',
        ...                      interval=2)]
    """

    priority = 'LOWEST'  # after DenseNASArchHook has logged derived costs

    def __init__(self,
                 interval: int = 1,
                 out_dir: str = 'vis',
                 add_image: bool = True) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'interval must be an int >= 1, got {interval!r}')
        self.interval = interval
        self.out_dir = out_dir
        self.add_image = add_image
        self.history: List[Dict] = []

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _algorithm(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def folder(self, runner) -> str:
        """Absolute output folder."""
        return osp.join(runner.work_dir, self.out_dir)

    def _warmup_epochs(self, runner) -> Optional[int]:
        for hook in runner.hooks:
            if hasattr(hook, 'warmup_epochs'):
                return int(hook.warmup_epochs)
        return None

    @staticmethod
    def _epoch_mean(runner, key: str, count: int) -> Optional[float]:
        hub = runner.message_hub
        if key not in hub.log_scalars or count <= 0:
            return None
        buf = hub.get_scalar(key)
        count = min(count, len(buf.data[0]))
        return float(buf.mean(count)) if count else None

    def _save(self, runner, fig, name: str, epoch: int,
              latest: Optional[str] = None) -> None:
        from densenas_mm.visualization import save_figure
        path = osp.join(self.folder(runner), name)
        rgb = save_figure(fig, path)
        if latest:
            with open(path, 'rb') as f:
                data = f.read()
            with open(osp.join(self.folder(runner), latest), 'wb') as f:
                f.write(data)
        if self.add_image and getattr(runner, 'visualizer', None):
            runner.visualizer.add_image(
                'densenas_' + (latest or name).rsplit('.', 1)[0], rgb,
                step=epoch)

    # -------------------------------------------------------------- hooks
    def before_train(self, runner) -> None:
        """Load the history of a resumed run."""
        path = osp.join(self.folder(runner), 'history.json')
        if osp.exists(path):
            with open(path, encoding='utf-8') as f:
                rows = json.load(f)
            self.history = [r for r in rows if r['epoch'] <= runner.epoch]

    def after_train_epoch(self, runner) -> None:
        """Record the epoch's numbers; draw every ``interval`` epochs."""
        from densenas_mm.visualization import arch_state_from_mutator
        algo = self._algorithm(runner)
        epoch = runner.epoch + 1
        state = arch_state_from_mutator(algo.mutator)
        row: Dict = dict(
            epoch=epoch,
            phase='search' if algo.arch_updates_enabled else 'warmup',
            path=list(state.path),
            **state.mean_entropy())
        n_weight = len(runner.train_dataloader)
        arch_loader = getattr(runner.train_loop, 'arch_dataloader', None)
        n_arch = len(arch_loader) if (arch_loader is not None
                                      and algo.arch_updates_enabled) else 0
        row['train_loss'] = self._epoch_mean(runner, 'train/loss', n_weight)
        row['train_acc'] = self._epoch_mean(runner, 'train/acc_top1',
                                            n_weight)
        if n_arch:
            loss = self._epoch_mean(runner, 'train/arch_loss', n_arch)
            cost = self._epoch_mean(runner, 'train/arch_loss_cost', n_arch)
            if loss is not None:
                row['arch_ce'] = loss - (cost or 0.0)
        if algo.estimator is not None:
            row['expected_latency'] = float(algo.current_expected_cost())
            metric = getattr(algo.estimator, 'metric', 'latency')
            derived = self._epoch_mean(runner, f'train/derived_{metric}', 1)
            row['derived_latency'] = derived
        self.history = [r for r in self.history if r['epoch'] < epoch]
        self.history.append(row)
        if not is_main_process():
            return
        max_epochs = getattr(runner.train_loop, 'max_epochs', None)
        if epoch % self.interval == 0 or epoch == max_epochs:
            self._draw_arch(runner, state, epoch)
        self._draw_curves(runner, epoch)

    def after_val_epoch(self, runner, metrics: Optional[Dict] = None) -> None:
        """Attach the supernet validation accuracy to its epoch."""
        if not metrics or not self.history:
            return
        top1 = metrics.get('accuracy/top1')
        if top1 is not None and self.history[-1]['epoch'] == runner.epoch:
            self.history[-1]['val_top1'] = float(top1)
            if is_main_process():
                self._draw_curves(runner, runner.epoch)

    def _draw_arch(self, runner, state, epoch: int) -> None:
        from densenas_mm.visualization import (plot_alphas, plot_betas,
                                               plot_supernet)
        phase = self.history[-1]['phase']
        lat = self.history[-1].get('derived_latency')
        extra = f', derived latency {lat:.2f} ms (LUT)' if lat else ''
        self._save(
            runner,
            plot_supernet(state, title=f'epoch {epoch} ({phase}): derived '
                          f'path {state.path}{extra}'),
            f'supernet_epoch_{epoch}.png', epoch, 'supernet.png')
        self._save(runner,
                   plot_alphas(state, title=f'softmax(alpha), epoch {epoch} '
                               f'({phase}); * = on the derived path'),
                   f'alphas_epoch_{epoch}.png', epoch, 'alphas.png')
        self._save(runner,
                   plot_betas(state, title=f'softmax(beta), epoch {epoch} '
                              f'({phase}); red = derived path'),
                   f'betas_epoch_{epoch}.png', epoch, 'betas.png')

    def _draw_curves(self, runner, epoch: int) -> None:
        from densenas_mm.visualization import plot_curves
        write_text_atomic(json.dumps(self.history, indent=1),
                          osp.join(self.folder(runner), 'history.json'))
        self._save(runner,
                   plot_curves(self.history, self._warmup_epochs(runner)),
                   'curves.png', epoch)
