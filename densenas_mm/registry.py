"""Registries of densenas_mm.

Every registry is a child of the matching mmrazor registry (itself a child of
mmengine's root), so ``type='densenas_mm.DenseNAS'`` resolves from any default
scope and our components can build mmcls / mmrazor / mmengine ones by name.
``locations`` lets mmengine import the defining modules lazily the first time
a registry of this scope is searched.
"""
from mmrazor.registry import DATA_SAMPLERS as MMRAZOR_DATA_SAMPLERS
from mmrazor.registry import DATASETS as MMRAZOR_DATASETS
from mmrazor.registry import HOOKS as MMRAZOR_HOOKS
from mmrazor.registry import LOOPS as MMRAZOR_LOOPS
from mmrazor.registry import METRICS as MMRAZOR_METRICS
from mmrazor.registry import MODEL_WRAPPERS as MMRAZOR_MODEL_WRAPPERS
from mmrazor.registry import MODELS as MMRAZOR_MODELS
from mmrazor.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMRAZOR_OPTIM_WRAPPER_CONSTRUCTORS
from mmrazor.registry import TASK_UTILS as MMRAZOR_TASK_UTILS
from mmrazor.registry import TRANSFORMS as MMRAZOR_TRANSFORMS
from mmrazor.registry import VISBACKENDS as MMRAZOR_VISBACKENDS
from mmrazor.registry import VISUALIZERS as MMRAZOR_VISUALIZERS
from mmrazor.registry.registry import build_razor_model_from_cfg
from mmengine.registry import Registry

__all__ = [
    'MODELS', 'MODEL_WRAPPERS', 'TASK_UTILS', 'HOOKS', 'LOOPS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'METRICS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'VISUALIZERS', 'VISBACKENDS', 'register_all_modules'
]

_SCOPE = 'densenas_mm'

MODELS = Registry(
    'model',
    parent=MMRAZOR_MODELS,
    scope=_SCOPE,
    build_func=build_razor_model_from_cfg,
    locations=['densenas_mm.models', 'densenas_mm.search_space'])
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=MMRAZOR_MODEL_WRAPPERS,
    scope=_SCOPE,
    locations=['densenas_mm.models'])
TASK_UTILS = Registry(
    'task util',
    parent=MMRAZOR_TASK_UTILS,
    scope=_SCOPE,
    locations=['densenas_mm.models'])
HOOKS = Registry(
    'hook', parent=MMRAZOR_HOOKS, scope=_SCOPE,
    locations=['densenas_mm.engine'])
LOOPS = Registry(
    'loop', parent=MMRAZOR_LOOPS, scope=_SCOPE,
    locations=['densenas_mm.engine'])
DATASETS = Registry(
    'dataset',
    parent=MMRAZOR_DATASETS,
    scope=_SCOPE,
    locations=['densenas_mm.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMRAZOR_DATA_SAMPLERS,
    scope=_SCOPE,
    locations=['densenas_mm.datasets'])
TRANSFORMS = Registry(
    'transform',
    parent=MMRAZOR_TRANSFORMS,
    scope=_SCOPE,
    locations=['densenas_mm.datasets'])
METRICS = Registry(
    'metric', parent=MMRAZOR_METRICS, scope=_SCOPE,
    locations=['densenas_mm.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMRAZOR_OPTIM_WRAPPER_CONSTRUCTORS,
    scope=_SCOPE,
    locations=['densenas_mm.engine'])
VISUALIZERS = Registry(
    'visualizer',
    parent=MMRAZOR_VISUALIZERS,
    scope=_SCOPE,
    locations=['densenas_mm.engine'])
VISBACKENDS = Registry(
    'vis_backend',
    parent=MMRAZOR_VISBACKENDS,
    scope=_SCOPE,
    locations=['densenas_mm.engine'])


def register_all_modules(init_default_scope: bool = False) -> None:
    """Import every module of densenas_mm (and mmcls, mmrazor) that registers.

    Args:
        init_default_scope (bool): Also make ``mmcls`` the default scope when
            none is set, as the configs of this project do. Defaults to False.
    """
    import mmcls.utils

    import densenas_mm.datasets  # noqa: F401
    import densenas_mm.engine  # noqa: F401
    import densenas_mm.models  # noqa: F401
    import mmrazor.engine  # noqa: F401
    import mmrazor.models  # noqa: F401

    mmcls.utils.register_all_modules(init_default_scope=init_default_scope)
