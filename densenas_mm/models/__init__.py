"""DenseNAS models: backbones, mutables, mutators, estimators, algorithms."""
from . import algorithms, backbones, estimators, mutables, mutators  # noqa

__all__ = ['algorithms', 'backbones', 'estimators', 'mutables', 'mutators']
