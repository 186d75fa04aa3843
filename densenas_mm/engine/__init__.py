"""Engine components: the search loop, its hooks, optimiser wrappers."""
from .hooks import (DenseNASArchHook, DenseNASVisualizationHook,
                    DenseNASWarmupHook)
from .optim import AutocastOptimWrapper
from .runner import DenseNASSearchLoop, EpochRecord

__all__ = [
    'DenseNASArchHook', 'DenseNASVisualizationHook', 'DenseNASWarmupHook',
    'DenseNASSearchLoop', 'EpochRecord', 'AutocastOptimWrapper'
]
