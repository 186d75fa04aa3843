"""Registries of densenas_mm (a leaf module: it imports only mmengine).

Every registry is a direct child of mmengine's root registry of its kind, as
mmcls's and mmrazor's are. A child of mmrazor's registries (a grandchild of
the root) would be invisible to prefixed look-ups from other scopes: mmengine
resolves ``'densenas_mm.DenseNAS'`` only among the root's direct children, so
``mmcls.ImageClassifier`` could not build a ``densenas_mm`` backbone. mmrazor
components are therefore written with their ``mmrazor.`` prefix in configs.

``locations`` makes the registries lazy, as in mmcls and mmpretrain: the
first look-up in a registry of this scope imports the modules that register
into it, so ``import densenas_mm`` stays light. The eager alternative,
:func:`densenas_mm.utils.setup_env.register_all_modules`, imports them all.

Only the kinds the package registers into have a registry here (a
component of another kind registers into mmengine's root of that kind).

The model registry builds with mmrazor's ``build_razor_model_from_cfg``
(``_return_architecture_`` support, as mmrazor algorithms expect); it is
imported when the first model is built, not here.
"""
from typing import Any, List

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import Registry

__all__ = [
    'MODELS', 'MODEL_WRAPPERS', 'TASK_UTILS', 'HOOKS', 'LOOPS', 'DATASETS',
    'DATA_SAMPLERS', 'OPTIM_WRAPPERS', 'SCOPE'
]

#: The registry scope of densenas_mm (prefix ``densenas_mm.`` in configs).
SCOPE = 'densenas_mm'


def build_model_from_cfg(cfg, registry, default_args=None):
    """mmrazor's model builder (imported on first use, not at import)."""
    from mmrazor.registry.registry import build_razor_model_from_cfg
    return build_razor_model_from_cfg(cfg, registry, default_args)


def _child(name: str, root: Registry, locations: List[str],
           **kwargs: Any) -> Registry:
    """A registry of this scope under mmengine's ``root`` of its kind."""
    return Registry(
        name, parent=root, scope=SCOPE, locations=locations, **kwargs)


MODELS = _child(
    'model',
    MMENGINE_MODELS, ['densenas_mm.models', 'densenas_mm.search_space'],
    build_func=build_model_from_cfg)
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS,
                        ['densenas_mm.models'])
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS, ['densenas_mm.models'])
HOOKS = _child('hook', MMENGINE_HOOKS, ['densenas_mm.engine'])
LOOPS = _child('loop', MMENGINE_LOOPS, ['densenas_mm.engine'])
DATASETS = _child('dataset', MMENGINE_DATASETS, [
    'densenas_mm.datasets.checked_dataset', 'densenas_mm.datasets.fashion_mnist'
])
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS,
                       ['densenas_mm.datasets'])
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS,
                        ['densenas_mm.engine'])
