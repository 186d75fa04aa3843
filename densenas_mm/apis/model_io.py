"""Build the classifier of a config (and load a checkpoint) for the tools.

Shared by the supernet -> subnet converter, the complexity report, the
latency benchmark and the ONNX exporter, so that all of them see exactly the
model ``tools/train.py`` / ``tools/test.py`` would build (the registries
import the components they need).
"""
from typing import Any, Dict, Optional, Union

import torch.nn as nn
from mmengine.config import Config

from densenas_mm.utils.config_file import load_config as read_config_file
from .config_checks import merge_cfg_options


def load_config(config: Union[str, Config],
                cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Read a config file, apply ``--cfg-options`` style overrides and
    derive what follows the config's knobs (:mod:`.derive`: the search
    length, ``own_data``), as ``tools/train.py`` does.

    Args:
        config (str | Config): Path or loaded config.
        cfg_options (dict, optional): ``{'a.b': value}`` overrides.

    Returns:
        Config: The merged config.

    Raises:
        ConfigError: For a missing file, a syntax error or an option that
            indexes a list the config lacks.
    """
    from .derive import derive_run_config
    cfg = config if isinstance(config, Config) else read_config_file(config)
    merge_cfg_options(cfg, cfg_options)
    derive_run_config(cfg, explicit=list(cfg_options or ()))
    return cfg


def build_classifier(config: Union[str, Config],
                     checkpoint: Optional[str] = None,
                     cfg_options: Optional[Dict[str, Any]] = None,
                     init: bool = True) -> nn.Module:
    """Build ``cfg.model`` in the config's default scope, in eval mode.

    Args:
        config (str | Config): Config path or object.
        checkpoint (str, optional): Weights to load (strictly: a missing or
            unexpected key is an error, so a wrong config is noticed).
        cfg_options (dict, optional): Overrides merged into the config.
        init (bool): Run ``init_weights`` (the training-time init) before
            loading. Defaults to True.

    Returns:
        nn.Module: The model (eval mode, CPU).
    """
    from mmengine.registry import DefaultScope, init_default_scope
    from mmengine.runner import load_checkpoint

    from densenas_mm.registry import MODELS
    from densenas_mm.utils.checkpoint import use_safe_checkpoint_loader

    cfg = load_config(config, cfg_options)
    scope = cfg.get('default_scope', 'mmcls')
    if DefaultScope.get_current_instance() is None or (
            DefaultScope.get_current_instance().scope_name != scope):
        init_default_scope(scope)
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    if init:
        _quiet_init(model)
    if checkpoint is not None:
        # weights_only with mmengine's allow-list: reading runs no code
        use_safe_checkpoint_loader()
        load_checkpoint(
            model,
            checkpoint,
            map_location='cpu',
            strict=True,
            logger='silent')
    return model.eval()


def _quiet_init(model: nn.Module) -> None:
    """``init_weights`` without mmengine's per-parameter INFO dump."""
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
