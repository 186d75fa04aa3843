"""Draws the state of a DenseNAS search as PNG files every few epochs."""
import json
import os.path as osp
from typing import Dict, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from densenas_mm.registry import HOOKS
from densenas_mm.utils.io import write_text_atomic
from .records import latest_record


@HOOKS.register_module()
class DenseNASVisualizationHook(Hook):
    """Pictures of the search: supernet graph, alphas, betas, curves.

    The hook observes the search loop's epoch records
    (``runner.train_loop.records``): the architecture it draws is the one
    the loop derived for the epoch (and ``DenseNASArchHook`` saved), and the
    curves are drawn from the records' numbers. After every
    ``interval``-th training epoch (and the last one) rank 0 writes to
    ``work_dir/<out_dir>/``:

    - ``supernet_epoch_<N>.png``: the dense supernet, nodes by stage, edge
      widths by p_ij, the derived path and its ops in red;
    - ``alphas_epoch_<N>.png``: softmax(alpha) heatmaps (head / stacking
      layers);
    - ``betas_epoch_<N>.png``: softmax(beta) per source block;
    - ``curves.png``: expected and derived latency, CE, accuracy (train,
      supernet validation) and mean alpha / beta entropy per epoch;
    - ``history.json``: the numbers behind ``curves.png``, one row per
      epoch (``tools/analysis/plot_arch.py --history`` draws the same
      curves from it);

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

    priority = 'LOWEST'

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

    @staticmethod
    def history_row(record) -> Dict:
        """The curve values of one epoch record."""
        row: Dict = dict(
            epoch=record.epoch,
            phase=record.phase,
            path=list(record.arch.path),
            alpha_entropy=record.alpha_entropy,
            beta_entropy=record.beta_entropy,
            train_loss=record.weight_means.get('loss'),
            train_acc=record.weight_means.get('acc_top1'))
        if record.arch_steps and 'arch_loss' in record.arch_means:
            row['arch_ce'] = record.arch_means['arch_loss'] - \
                record.arch_means.get('arch_loss_cost', 0.0)
        if record.expected_cost is not None:
            row['expected_latency'] = record.expected_cost
            row['derived_latency'] = record.derived_cost
        return row

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
            from densenas_mm.visualization import read_history
            rows = read_history(
                path,
                fix='Restore it from a backup, or delete it: the curves '
                'then start at the resumed epoch')
            self.history = [r for r in rows if r['epoch'] <= runner.epoch]

    def after_train_epoch(self, runner) -> None:
        """Record the epoch's numbers; draw every ``interval`` epochs."""
        record = latest_record(runner, self)
        epoch = record.epoch
        self.history = [r for r in self.history if r['epoch'] < epoch]
        self.history.append(self.history_row(record))
        if not is_main_process():
            return
        max_epochs = getattr(runner.train_loop, 'max_epochs', None)
        if epoch % self.interval == 0 or epoch == max_epochs:
            from densenas_mm.visualization import arch_state
            algo = self._algorithm(runner)
            state = arch_state(algo.mutator.space,
                               dict(algo.mutator.arch_params), record.arch)
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
        """Supernet, alpha and beta pictures of ``state``."""
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
        from densenas_mm.visualization import plot_curves, warmup_epochs
        write_text_atomic(json.dumps(self.history, indent=1),
                          osp.join(self.folder(runner), 'history.json'))
        self._save(runner,
                   plot_curves(self.history, warmup_epochs(self.history)),
                   'curves.png', epoch)
