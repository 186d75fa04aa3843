"""Checkpoints that are never half written and load only where they fit."""
import os
import os.path as osp
import re
from typing import Any, Dict, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.model import BaseTTAModel, is_model_wrapper

from densenas_mm.registry import HOOKS
from densenas_mm.utils.checkpoint import state_of, use_safe_checkpoint_loader
from densenas_mm.utils.io import atomic_path, write_text_atomic
from densenas_mm.utils.resume import (last_checkpoint_text,
                                      read_last_checkpoint)
from densenas_mm.utils.state_fit import check_state_fits
from .run_settings import META_KEY, changed_settings, run_settings

#: Temporary files of an interrupted atomic save (see ``atomic_path``).
_STALE = re.compile(r'^\.(.+\.pth|last_checkpoint)\..+\.tmp$')


def _is_local(path: str) -> bool:
    return '://' not in str(path)


def save_runner_checkpoint(runner, out_dir: str, filename: str, *args,
                           **kwargs) -> None:
    """``runner.save_checkpoint`` into a temporary file, then renamed.

    The checkpoint appears under its name only once it is complete and on
    disk (fsync); a kill during the write leaves a hidden ``.NAME.*.tmp``
    and the previous checkpoints untouched. Remote backends and non-main
    ranks call ``runner.save_checkpoint`` as it is.
    """
    runner = getattr(runner, '_runner', runner)  # not twice via _AtomicSaves
    if not is_main_process() or not _is_local(out_dir):
        runner.save_checkpoint(out_dir, filename, *args, **kwargs)
        return
    with atomic_path(osp.join(out_dir, filename)) as tmp:
        runner.save_checkpoint(
            osp.dirname(tmp), osp.basename(tmp), *args, **kwargs)


class _AtomicSaves:
    """The runner as mmengine's best-checkpoint logic sees it: every
    ``save_checkpoint`` it makes is atomic."""

    def __init__(self, runner) -> None:
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runner, name)

    def save_checkpoint(self, out_dir: str, filename: str, *args,
                        **kwargs) -> None:
        save_runner_checkpoint(self._runner, out_dir, filename, *args,
                               **kwargs)


def _key_for_tta(checkpoint: Dict) -> None:
    """Re-key a classifier's state dict for the TTA wrapper around it.

    mmengine loads into the model the runner holds (the TTA wrapper, whose
    keys are ``module.<classifier key>``) after stripping one leading
    ``module.`` from every checkpoint key; without this the classifier's
    weights would not load at all (mmengine's load is not strict there).
    """
    state = checkpoint.get('state_dict', checkpoint)
    keyed = {
        'module.module.' + (k[len('module.'):] if k.startswith('module.')
                            else k): v
        for k, v in state.items()
    }
    state.clear()
    state.update(keyed)


@HOOKS.register_module()
class DenseNASCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook``, writing atomically and loading strictly.

    Differences from ``CheckpointHook`` (same arguments otherwise):

    - ``epoch_N.pth`` / ``iter_N.pth`` (and best checkpoints) are written to
      a temporary name, fsynced and renamed; ``last_checkpoint`` is replaced
      atomically after the checkpoint is complete; checkpoints beyond
      ``max_keep_ckpts`` are deleted only after that. A kill at any moment
      leaves the previous checkpoint and a ``last_checkpoint`` naming a
      complete file. Leftover temporary files are removed before training.
    - Every checkpoint the runner loads (``resume``, ``load_from``,
      ``tools/test.py``) must fit the model exactly: missing, unexpected or
      shape-mismatched keys are an error listing them, instead of
      mmengine's non-strict load that only logs them.
    - Checkpoints are read with ``weights_only=True`` and the allow-list of
      :mod:`densenas_mm.utils.checkpoint` (nothing read runs code).
    - Every checkpoint records the run's settings (world size, batch
      sizes, seed, max / warm-up epochs, latency table identity:
      :mod:`.run_settings`) in ``meta['densenas_run']``; a ``--resume``
      with other settings logs a warning listing each change.
    - ``last_checkpoint`` holds the path relative to the work dir (a copied
      work dir resumes from its own checkpoint).

    Args:
        strict_load (bool): Refuse checkpoints that do not fit the model.
            Defaults to True.
        **kwargs: ``CheckpointHook`` arguments.
    """

    def __init__(self, *args, strict_load: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.strict_load = bool(strict_load)
        self._settings: Optional[Dict[str, Any]] = None
        use_safe_checkpoint_loader()

    # ------------------------------------------------------------ loading
    def after_load_checkpoint(self, runner, checkpoint: Dict) -> None:
        """On ``--resume``, warn about every setting that differs from the
        checkpoint's run; refuse a checkpoint whose tensors do not fit the
        model."""
        if getattr(runner, '_resume', False):
            self._compare_settings(runner, checkpoint)
        if not self.strict_load:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        tta = isinstance(model, BaseTTAModel)
        if tta:  # tools/test.py --tta: the classifier is model.module
            model = model.module
        path = self._loaded_path(runner)
        if self.strict_load:
            check_state_fits(model.state_dict(), state_of(checkpoint, path),
                             path)
        if tta:
            _key_for_tta(checkpoint)

    def _compare_settings(self, runner, checkpoint: Dict) -> None:
        """Log a warning listing the settings that changed since the
        checkpoint's run (:mod:`.run_settings`)."""
        saved = (checkpoint.get('meta') or {}).get(META_KEY)
        path = self._loaded_path(runner)
        if not isinstance(saved, dict):
            runner.logger.info(f'{path} records no run settings (written '
                               'before they were recorded): not compared')
            return
        changes = changed_settings(saved, run_settings(runner))
        if changes:
            runner.logger.warning(
                f'resuming {path} with settings other than its run\'s: '
                + '; '.join(changes) + '. The run continues with the new '
                'ones (a changed world size or batch size shifts the '
                'learning-rate schedule and the data order; another table '
                'or seed makes another search); resume with the old ones '
                'to continue the same run')

    def before_save_checkpoint(self, runner, checkpoint: Dict) -> None:
        """Record the run's settings in ``meta['densenas_run']``."""
        if self._settings is None:
            self._settings = run_settings(runner)
        checkpoint.setdefault('meta', {})[META_KEY] = dict(self._settings)

    @staticmethod
    def _loaded_path(runner) -> str:
        path: Optional[str] = getattr(runner, '_load_from', None)
        if path is None and getattr(runner, '_resume', False):
            path = read_last_checkpoint(runner.work_dir)
        return str(path or '<checkpoint>')

    # ------------------------------------------------------------- saving
    def before_train(self, runner) -> None:
        """Set up as mmengine does; remove temporaries of a killed save."""
        super().before_train(runner)
        if not is_main_process():
            return
        for folder in {str(self.out_dir), runner.work_dir}:
            if not _is_local(folder) or not osp.isdir(folder):
                continue
            for name in os.listdir(folder):
                if _STALE.match(name):
                    os.unlink(osp.join(folder, name))
                    runner.logger.info(f'removed {name}, left by an '
                                       'interrupted checkpoint save')

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: Dict) -> None:
        if not _is_local(self.out_dir):
            super()._save_checkpoint_with_step(runner, step, meta)
            return
        outdated: List[int] = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            while len(self.keep_ckpt_ids) >= self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        # in the hub before saving, as mmengine does: the checkpoint's own
        # message hub then names it (what a resume continues from)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        save_runner_checkpoint(
            runner,
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        write_text_atomic(
            last_checkpoint_text(self.last_ckpt, runner.work_dir),
            osp.join(runner.work_dir, 'last_checkpoint'))
        for old in outdated:
            path = osp.join(self.out_dir, self.filename_tmpl.format(old))
            if osp.isfile(path):
                os.unlink(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        super()._save_best_checkpoint(_AtomicSaves(runner), metrics)
