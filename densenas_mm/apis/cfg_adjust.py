"""The config adjustments every run of :mod:`.launch` gets, each a function
that changes a config in place and says what it changed.

* :func:`use_safe_checkpointing`: ``densenas_mm.DenseNASCheckpointHook``
  (atomic writes, strict and safe reading) in place of a plain
  ``CheckpointHook``, also for configs from other projects.
* :func:`sanitize_dataloaders`: no ``persistent_workers`` on loaders with
  ``num_workers=0`` (torch refuses the combination).
* :func:`enable_amp`: ``--amp``, every optimiser wrapper an
  ``AmpOptimWrapper``.
* :func:`adapt_cfg_for_cpu_distributed`: distributed runs without CUDA (CPU
  machines, CI) need two changes that a config written for GPUs does not
  carry (see docs/environment.md): the ``nccl`` backend does not exist
  without CUDA, so ``gloo``; and mmengine wraps the model in DDP with
  ``device_ids=[LOCAL_RANK]``, which DDP rejects for CPU modules, so
  ``device_ids=[]``. Applied only when CUDA is unavailable and a launcher
  is used, so GPU runs see the config unchanged.
"""
from typing import Any, Dict, List, Optional

import torch
from mmengine.config import Config, ConfigDict
from torch.nn.parallel import DistributedDataParallel

from densenas_mm.utils.options import ConfigError


def _wrapper_is_ddp(wrapper_type: Any) -> bool:
    """Whether a model wrapper type (name or class) subclasses torch DDP."""
    if isinstance(wrapper_type, str):
        from densenas_mm.registry import MODEL_WRAPPERS
        wrapper_type = MODEL_WRAPPERS.get(wrapper_type)
    return isinstance(wrapper_type, type) and issubclass(
        wrapper_type, DistributedDataParallel)


def adapt_cfg_for_cpu_distributed(cfg: Config,
                                  launcher: str,
                                  cuda_available: Optional[bool] = None
                                  ) -> List[str]:
    """Make a distributed config runnable on CPU-only machines, in place.

    Args:
        cfg (Config): The config; ``env_cfg``, ``model_wrapper_cfg`` and
            ``sync_bn`` may be changed.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        cuda_available (bool, optional): Override detection (tests).

    Returns:
        list[str]: One message per change (empty when nothing changed).
    """
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    if launcher == 'none' or cuda_available:
        return []
    changes = []
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
        changes.append('no CUDA: env_cfg.dist_cfg.backend nccl -> gloo')
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        cfg.model_wrapper_cfg = ConfigDict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False),
            device_ids=[])
        changes.append('no CUDA: model_wrapper_cfg = '
                       'MMDistributedDataParallel(device_ids=[])')
    elif 'device_ids' not in wrapper and _wrapper_is_ddp(
            wrapper.get('type', 'MMDistributedDataParallel')):
        wrapper['device_ids'] = []
        changes.append('no CUDA: model_wrapper_cfg.device_ids = []')
    if cfg.get('sync_bn') is not None:
        cfg.sync_bn = None
        changes.append('no CUDA: sync_bn disabled (SyncBN needs CUDA)')
    return changes


def sanitize_dataloaders(cfg: Any) -> None:
    """Drop ``persistent_workers`` from loaders with ``num_workers == 0``.

    torch's ``DataLoader`` raises for that combination, which a user meets
    as soon as ``--cfg-options ...num_workers=0`` is used to debug. Every
    dict with ``dataset`` and ``num_workers`` keys, at any depth (search
    loops keep their loaders inside ``train_cfg``), is treated as a loader.

    Args:
        cfg (Config | dict | list): Config or part of it, changed in place.
    """
    if isinstance(cfg, Config):
        cfg = cfg._cfg_dict
    if isinstance(cfg, dict):
        if ('dataset' in cfg and cfg.get('num_workers', None) == 0
                and 'persistent_workers' in cfg):
            cfg.pop('persistent_workers')
        for value in cfg.values():
            sanitize_dataloaders(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            sanitize_dataloaders(value)


AMP_WRAPPERS = ('OptimWrapper', 'AmpOptimWrapper')


#: ``--amp``: the architecture optimiser's dynamic loss scaler starts at
#: 2^10 instead of GradScaler's 2^16. Architecture steps are few (one
#: search-val pass per epoch) and a step whose scaled gradients overflow is
#: skipped while the scale halves, so starting high can skip the first
#: architecture steps; 2^10 keeps fp16 gradients down to ~6e-8 above
#: fp16's smallest normal number and the scale still grows (x2 every 2000
#: steps without overflow) when there is room.
ARCH_LOSS_SCALE = dict(init_scale=2.0**10)


def enable_amp(cfg: Config) -> List[str]:
    """``--amp``: make every optimiser wrapper of the config an
    ``AmpOptimWrapper`` (dynamic loss scaling unless one is set, starting
    at :data:`ARCH_LOSS_SCALE` for the architecture optimiser), in place.

    A plain config has one wrapper (``optim_wrapper.optimizer``); a search
    config has one per part under mmrazor's
    ``SeparateOptimWrapperConstructor`` (``optim_wrapper.architecture``,
    ``optim_wrapper.mutator``), which each get the type, while the top level
    keeps only the constructor.

    Args:
        cfg (Config): The config; ``optim_wrapper`` is changed.

    Returns:
        list[str]: The config keys of the wrappers changed, e.g.
        ``['optim_wrapper.architecture', 'optim_wrapper.mutator']``.

    Raises:
        ConfigError: If a wrapper has another type (naming it) or the
            config has no optimiser wrapper.
    """
    top = cfg.get('optim_wrapper')
    if not isinstance(top, dict):
        raise ConfigError('--amp needs an optim_wrapper in the config')
    if 'optimizer' in top:
        parts: Dict[str, Any] = {'optim_wrapper': top}
    else:
        parts = {
            f'optim_wrapper.{k}': v
            for k, v in top.items() if isinstance(v, dict) and 'optimizer' in v
        }
        if not parts:
            raise ConfigError(
                '--amp: optim_wrapper has neither an optimizer nor parts '
                f'with one (keys: {sorted(top)})')
    for key, wrapper in parts.items():
        kind = str(wrapper.get('type', 'OptimWrapper')).split('.')[-1]
        if kind not in AMP_WRAPPERS:
            raise ConfigError(f'--amp needs {key}.type to be one of '
                              f'{AMP_WRAPPERS}, got {wrapper.get("type")!r}')
        wrapper['type'] = 'AmpOptimWrapper'
        wrapper.setdefault(
            'loss_scale',
            dict(ARCH_LOSS_SCALE)
            if key == 'optim_wrapper.mutator' else 'dynamic')
    return list(parts)


_PLAIN_CHECKPOINT_HOOKS = ('CheckpointHook', 'mmengine.CheckpointHook')
SAFE_CHECKPOINT_HOOK = 'densenas_mm.DenseNASCheckpointHook'


def use_safe_checkpointing(cfg: Config, training: bool = True) -> List[str]:
    """Make the config's checkpoint hook the atomic, strict one, in place.

    A plain mmengine ``CheckpointHook`` (or none: mmengine would add one)
    becomes ``densenas_mm.DenseNASCheckpointHook`` with the same arguments;
    other hook types are left alone, and so is a checkpoint hook disabled
    with ``None`` in a training run. Also makes mmengine read local
    checkpoints with ``weights_only=True``
    (:func:`~densenas_mm.utils.checkpoint.use_safe_checkpoint_loader`).

    Args:
        cfg (Config): The config, changed in place.
        training (bool): False for ``tools/test.py``: a disabled hook is
            then replaced by one that only checks what is loaded.

    Returns:
        list[str]: One message per change.
    """
    from densenas_mm.utils.checkpoint import use_safe_checkpoint_loader
    use_safe_checkpoint_loader()
    hooks = cfg.setdefault('default_hooks', ConfigDict())
    if training and 'checkpoint' in hooks and hooks['checkpoint'] is None:
        return []
    hook = hooks.get('checkpoint')
    if hook is None:
        hooks['checkpoint'] = ConfigDict(type=SAFE_CHECKPOINT_HOOK)
        return [f'default_hooks.checkpoint = {SAFE_CHECKPOINT_HOOK}']
    if hook.get('type') in _PLAIN_CHECKPOINT_HOOKS:
        hook['type'] = SAFE_CHECKPOINT_HOOK
        return [f'default_hooks.checkpoint: CheckpointHook -> '
                f'{SAFE_CHECKPOINT_HOOK} (atomic writes, strict loading)']
    return []

__all__ = ['AMP_WRAPPERS', 'ARCH_LOSS_SCALE', 'SAFE_CHECKPOINT_HOOK',
           'adapt_cfg_for_cpu_distributed', 'enable_amp',
           'sanitize_dataloaders', 'use_safe_checkpointing']
