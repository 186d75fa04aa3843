"""Registries of densenas_mm.

Every registry is a direct child of mmengine's root registry of its kind, as
mmcls's and mmrazor's are. A child of mmrazor's registries (a grandchild of
the root) would be invisible to prefixed look-ups from other scopes: mmengine
resolves ``'densenas_mm.DenseNAS'`` only among the root's direct children, so
``mmcls.ImageClassifier`` could not build a ``densenas_mm`` backbone. mmrazor
components are therefore written with their ``mmrazor.`` prefix in configs.
The model registry uses mmrazor's build function (``_return_architecture_``
support, as mmrazor algorithms expect). ``locations`` lets mmengine import the
defining modules lazily the first time a registry of this scope is searched.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry
from mmrazor.registry.registry import build_razor_model_from_cfg

__all__ = [
    'MODELS', 'MODEL_WRAPPERS', 'TASK_UTILS', 'HOOKS', 'LOOPS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'METRICS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'VISUALIZERS', 'VISBACKENDS', 'register_all_modules'
]

_SCOPE = 'densenas_mm'

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope=_SCOPE,
    build_func=build_razor_model_from_cfg,
    locations=['densenas_mm.models', 'densenas_mm.search_space'])
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=MMENGINE_MODEL_WRAPPERS,
    scope=_SCOPE,
    locations=['densenas_mm.models'])
TASK_UTILS = Registry(
    'task util',
    parent=MMENGINE_TASK_UTILS,
    scope=_SCOPE,
    locations=['densenas_mm.models'])
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, scope=_SCOPE,
    locations=['densenas_mm.engine'])
LOOPS = Registry(
    'loop', parent=MMENGINE_LOOPS, scope=_SCOPE,
    locations=['densenas_mm.engine'])
DATASETS = Registry(
    'dataset',
    parent=MMENGINE_DATASETS,
    scope=_SCOPE,
    locations=['densenas_mm.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMENGINE_DATA_SAMPLERS,
    scope=_SCOPE,
    locations=['densenas_mm.datasets'])
TRANSFORMS = Registry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    scope=_SCOPE,
    locations=['densenas_mm.datasets'])
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, scope=_SCOPE,
    locations=['densenas_mm.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    scope=_SCOPE,
    locations=['densenas_mm.engine'])
VISUALIZERS = Registry(
    'visualizer',
    parent=MMENGINE_VISUALIZERS,
    scope=_SCOPE,
    locations=['densenas_mm.engine'])
VISBACKENDS = Registry(
    'vis_backend',
    parent=MMENGINE_VISBACKENDS,
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
