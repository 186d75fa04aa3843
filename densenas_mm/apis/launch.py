"""Training and testing from a config: what ``tools/train.py`` and
``tools/test.py`` run, as functions with keyword arguments.

:func:`run_train` and :func:`run_test` do a tool's whole job in the calling
process (the tools parse their command line and call them; experiments call
them in worker processes).

Checkpoints are always read safely and strictly and written atomically
(:func:`~.cfg_adjust.use_safe_checkpointing`), and :func:`resume_target`
resolves ``--resume`` without a path.

The config file is read with its problems named (a syntax error by file and
line), ``--cfg-options`` that index a missing list are refused, and the
options that fail late or silently (``train_cfg.max_epochs``, the cost
weight, the sampling seed, a ``--work-dir`` that is a file) are checked
before the runner is built (:mod:`.config_checks`).

The config adjustments every run gets (safe checkpointing, loader
sanity, ``--amp``, distributed runs without CUDA) are in
:mod:`.cfg_adjust`.
"""
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

from mmengine.config import Config

from densenas_mm.utils.options import ConfigError
from .cfg_adjust import (adapt_cfg_for_cpu_distributed, enable_amp,
                         sanitize_dataloaders, use_safe_checkpointing)
from .config_checks import check_run_options, load_config, merge_cfg_options
from .run_guard import raise_rank_failure, work_dir_lock
from .test_views import apply_test_views


def merge_common_args(cfg: Config, config_path: str, work_dir: Optional[str],
                      launcher: str) -> None:
    """Set ``launcher`` and ``work_dir`` as every OpenMMLab tool does.

    ``work_dir`` priority: command line > config > ``work_dirs/<config>``.

    Args:
        cfg (Config): The config, changed in place.
        config_path (str): Path of the config file.
        work_dir (str, optional): ``--work-dir`` from the command line.
        launcher (str): ``--launcher`` from the command line.
    """
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])


def resume_target(resume: Optional[str], work_dir: str) -> Optional[str]:
    """The checkpoint a ``--resume`` run loads.

    Args:
        resume (str, optional): ``--resume``: a path, ``'auto'`` (no value:
            the work dir's ``last_checkpoint``) or None.
        work_dir (str): The run's work dir.

    Returns:
        str | None: The checkpoint, or None (no ``--resume``).

    Raises:
        CheckpointError: For ``'auto'`` in a work dir without
            ``last_checkpoint`` (nothing to resume), an empty one or one
            naming a missing or truncated file (with the checkpoint to use
            instead).
    """
    from densenas_mm.utils.resume import require_resume
    if resume == 'auto':
        return require_resume(work_dir)
    return resume


def merge_train_options(cfg: Config,
                        config: str,
                        *,
                        work_dir: Optional[str] = None,
                        resume: Optional[str] = None,
                        amp: bool = False,
                        no_validate: bool = False,
                        auto_scale_lr: bool = False,
                        cfg_options: Optional[Dict[str, Any]] = None,
                        launcher: str = 'none',
                        derived: Optional[List[str]] = None) -> Config:
    """Merge the options of a training run into its config, in place.

    Last, the values a config derives from its knobs (the search length,
    ``own_data``) are recomputed from the merged knobs
    (:func:`~.derive.derive_run_config`); keys given in ``cfg_options``
    keep their value.

    Args:
        cfg (Config): The loaded config.
        config (str): Its path (names the default work dir).
        work_dir (str, optional): Logs and checkpoints (default: the
            config's, else ``work_dirs/<config name>``).
        resume (str, optional): A checkpoint to resume, or ``'auto'`` for
            the work dir's ``last_checkpoint`` (none: an error).
        amp (bool): Every optimiser wrapper an ``AmpOptimWrapper``.
        no_validate (bool): Drop validation during training.
        auto_scale_lr (bool): Scale the lr by the actual batch size.
        cfg_options (dict, optional): Config overrides, merged last.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        derived (list, optional): Gets one line per derived key changed.

    Returns:
        Config: The same config, updated.

    Raises:
        ConfigError: For ``auto_scale_lr`` without ``auto_scale_lr`` in the
            config, ``amp`` with a wrapper type AMP cannot replace, or a
            ``cfg_options`` key that indexes a list the config lacks.
        DeriveError: For a knob the derived keys cannot follow.
    """
    merge_common_args(cfg, config, work_dir, launcher)
    if no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if amp:
        enable_amp(cfg)
    if resume is not None:
        cfg.resume = True
        cfg.load_from = resume_target(resume, cfg.work_dir)
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise ConfigError('--auto-scale-lr needs `auto_scale_lr = '
                              'dict(base_batch_size=...)` in the config')
        cfg.auto_scale_lr.enable = True
    _merge_and_derive(cfg, cfg_options, derived)
    return cfg


def _merge_and_derive(cfg: Config, cfg_options: Optional[Dict[str, Any]],
                      derived: Optional[List[str]]) -> None:
    """Merge ``--cfg-options``, then derive what follows the knobs."""
    from .derive import derive_run_config
    merge_cfg_options(cfg, cfg_options)
    changes = derive_run_config(cfg, explicit=list(cfg_options or ()))
    if derived is not None:
        derived.extend(changes)


def merge_test_options(cfg: Config,
                       config: str,
                       checkpoint: str,
                       *,
                       work_dir: Optional[str] = None,
                       cfg_options: Optional[Dict[str, Any]] = None,
                       launcher: str = 'none',
                       derived: Optional[List[str]] = None) -> Config:
    """Merge the options of a test run into its config, in place (and
    derive what follows the config's knobs, as
    :func:`merge_train_options`).

    Args:
        cfg (Config): The loaded config.
        config (str): Its path (names the default work dir).
        checkpoint (str): The checkpoint to evaluate.
        work_dir (str, optional): Test logs.
        cfg_options (dict, optional): Config overrides, merged last.
        launcher (str): The job launcher.
        derived (list, optional): Gets one line per derived key changed.

    Returns:
        Config: The same config, updated.
    """
    merge_common_args(cfg, config, work_dir, launcher)
    cfg.load_from = checkpoint
    cfg.resume = False
    _merge_and_derive(cfg, cfg_options, derived)
    return cfg


def check_run(cfg: Config) -> None:
    """Check a merged config before anything is built or written
    (:func:`~.config_checks.check_run_options`: option values;
    :func:`~.run_checks.check_run_config`: classes, top-k, input sizes)."""
    from .run_checks import check_run_config as check_consistency
    check_run_options(cfg)
    check_consistency(cfg)


def _runner(cfg: Config,
            launcher: str,
            training: bool,
            derived: Sequence[str] = ()) -> Any:
    """The runner of an adjusted config (checked with :func:`check_run`
    before), its changes (``derived``: the derived keys) logged and the
    model's head checked against its backbone."""
    from mmengine.logging import print_log
    from mmengine.runner import Runner

    from densenas_mm.models.backbones import check_head_fits
    sanitize_dataloaders(cfg)
    changes = list(derived)
    changes += use_safe_checkpointing(cfg, training=training)
    changes += adapt_cfg_for_cpu_distributed(cfg, launcher)
    runner = Runner.from_cfg(cfg)
    for change in changes:
        print_log(change, logger='current')
    check_head_fits(getattr(runner.model, 'module', runner.model))
    return runner


def run_train(config: str, **options: Any) -> None:
    """Train (a classifier, a supernet search or a subnet) from a config.

    Checkpoints are written atomically and loaded strictly; without CUDA a
    distributed run uses gloo and CPU DDP. Rank 0 holds the work dir's lock
    (:func:`work_dir_lock`) for the whole run: a second run into the same
    work dir fails with the holder's host, PID and start time. mmengine's message hub, loggers,
    visualizer and default scope are process-wide: run one training per
    process.

    Args:
        config (str): The config file.
        **options: The keyword arguments of :func:`merge_train_options`
            (``work_dir``, ``resume``, ``amp``, ``no_validate``,
            ``auto_scale_lr``, ``cfg_options``, ``launcher``).

    A search with a latency budget (``LatencyLoss(target=T)``) ends with
    the log line ``budget T: derived X ms predicted, Y ms measured`` and
    ``budget.json`` in the work dir (:mod:`.latency_budget`).
    """
    from .latency_budget import report_budget
    derived: List[str] = []
    cfg = merge_train_options(
        load_config(config), config, derived=derived, **options)
    check_run(cfg)  # before the lock: a refused config writes nothing
    with work_dir_lock(cfg):
        runner = _runner(cfg, cfg.launcher, training=True, derived=derived)
        try:
            runner.train()
        except RuntimeError as err:
            raise_rank_failure(runner, cfg, err)
            raise
    # a search for a latency budget: its derived net predicted and measured
    report_budget(runner)


def run_test(config: str,
             checkpoint: str,
             *,
             work_dir: Optional[str] = None,
             out: Optional[str] = None,
             out_item: str = 'metrics',
             show_dir: Optional[str] = None,
             interval: int = 1,
             tta: bool = False,
             cfg_options: Optional[Dict[str, Any]] = None,
             launcher: str = 'none') -> Dict[str, float]:
    """Evaluate a checkpoint with the config's test loader and evaluator.

    Args:
        config (str): The config.
        checkpoint (str): Must fit the config's model exactly; read without
            running code from it.
        work_dir (str, optional): Test logs.
        out (str, optional): Write the metrics (json / yaml / pkl by
            suffix, atomically) or, with ``out_item='pred'``, the per-sample
            predictions (pkl) here.
        out_item (str): ``'metrics'`` or ``'pred'``.
        show_dir (str, optional): Draw the predictions here (mmcls's
            ``--show-dir``; see :func:`~.test_views.apply_test_views`).
        interval (int): With ``show_dir``: every ``interval``-th image.
        tta (bool): Test-time augmentation (mmcls's ``--tta``).
        cfg_options (dict, optional): Config overrides.
        launcher (str): The job launcher.

    Returns:
        dict: The metrics of ``Runner.test``.

    Raises:
        CheckpointError: For a missing, empty, truncated or unsafe
            checkpoint, or one with NaN / inf weights (before anything is
            built).
        OutputPathError: If ``out`` cannot be written.
    """
    import mmengine
    from mmengine.evaluator import DumpResults
    from mmengine.logging import print_log

    from densenas_mm.utils.checkpoint import (check_finite_weights,
                                              read_checkpoint)
    from densenas_mm.utils.io import atomic_path, prepare_output_file
    if out_item not in ('metrics', 'pred'):
        raise ValueError(f"out_item must be 'metrics' or 'pred', got "
                         f'{out_item!r}')
    # fails here, naming the file (the runner loads it again after building
    # the model)
    check_finite_weights(read_checkpoint(checkpoint), checkpoint)
    if out:
        prepare_output_file(out, '--out')
    derived: List[str] = []
    cfg = merge_test_options(
        load_config(config), config, checkpoint, work_dir=work_dir,
        cfg_options=cfg_options, launcher=launcher, derived=derived)
    derived += apply_test_views(cfg, show_dir, interval, tta)
    check_run(cfg)
    runner = _runner(cfg, launcher, training=False, derived=derived)
    if out and out_item == 'pred':
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=out))
    metrics = runner.test()
    if out and out_item == 'metrics' and runner.rank == 0:
        # mmengine picks the format from the suffix: keep it on the temp file
        with atomic_path(out, suffix=os.path.splitext(out)[1]) as tmp:
            mmengine.dump(metrics, tmp)
        print_log(f'metrics written to {out}', logger='current')
    return metrics
