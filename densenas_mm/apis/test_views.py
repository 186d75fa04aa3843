"""mmcls ``tools/test.py``'s test views (``--show-dir``, ``--tta``) applied
to a config, for :func:`~.launch.run_test`."""
from typing import List, Optional

from mmengine.config import Config, ConfigDict


def _is_search_config(cfg: Config) -> bool:
    """Whether ``cfg.model`` is a DenseNAS search (an algorithm around a
    supernet) rather than a classifier."""
    return 'architecture' in (cfg.get('model') or {})


def apply_test_views(cfg: Config,
                     show_dir: Optional[str] = None,
                     interval: int = 1,
                     tta: bool = False) -> List[str]:
    """mmcls ``tools/test.py``'s ``--show-dir`` and ``--tta``, in place.

    ``show_dir``: mmcls's ``VisualizationHook`` draws every ``interval``-th
    test image with its prediction into ``show_dir`` (a relative path is
    relative to the current directory, as in mmcls). ``tta``:
    the model is wrapped in the config's ``tta_model`` (default mmcls's
    ``AverageClsScoreTTA``) and the test loader reads the config's
    ``tta_pipeline`` (default: the test pipeline with and without a
    horizontal flip, the scores averaged), as mmcls does.

    Both apply to classifier configs (a derived net, a baseline); a search
    config's model is the supernet, which predicts nothing to draw or
    average.

    Returns:
        list[str]: One message per change.

    Raises:
        RunConfigError: For a search config, both options at once, or a
            config without a ``default_hooks.visualization`` for
            ``show_dir``.
    """
    from .run_checks import RunConfigError
    changes: List[str] = []
    if (show_dir or tta) and _is_search_config(cfg):
        raise RunConfigError(
            '--show-dir / --tta apply to a classifier config (a derived '
            'net: configs/densenas/subnets/), not to a search config, whose '
            'model is the supernet')
    if show_dir and tta:
        raise RunConfigError(
            '--show-dir and --tta cannot be combined: mmcls\'s '
            'VisualizationHook cannot draw test-time-augmented batches; run '
            'tools/test.py once with each')
    if show_dir:
        hooks = cfg.get('default_hooks') or {}
        if 'visualization' not in hooks:
            raise RunConfigError(
                '--show-dir needs default_hooks.visualization '
                "(dict(type='VisualizationHook')) in the config")
        hooks['visualization'].update(
            enable=True, out_dir=show_dir, interval=interval)
        changes.append(f'--show-dir: predictions drawn to {show_dir} '
                       f'(every {interval}. image)')
    if tta:
        from copy import deepcopy
        tta_model = cfg.get('tta_model') or dict(
            type='mmcls.AverageClsScoreTTA')
        pipeline = cfg.get('tta_pipeline')
        if pipeline is None:
            test_pipeline = cfg.test_dataloader.dataset.pipeline
            pipeline = deepcopy(test_pipeline)
            pipeline[-1] = dict(
                type='TestTimeAug',
                transforms=[[
                    dict(type='RandomFlip', prob=1.),
                    dict(type='RandomFlip', prob=0.)
                ], [test_pipeline[-1]]])
        cfg.model = ConfigDict(**tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = pipeline
        changes.append(f'--tta: model wrapped in {tta_model["type"]}, test '
                       'pipeline = tta_pipeline')
    return changes
