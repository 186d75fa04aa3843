"""Engine components: the search loop, its hooks, optimiser wrappers."""
from .hooks import (DenseNASArchHook, DenseNASCheckpointHook,
                    DenseNASVisualizationHook, DenseNASWarmupHook)
from .optim import AutocastOptimWrapper
from .runner import DenseNASSearchLoop, EpochRecord

__all__ = [
    'DenseNASArchHook', 'DenseNASCheckpointHook', 'DenseNASVisualizationHook',
    'DenseNASWarmupHook', 'DenseNASSearchLoop', 'EpochRecord',
    'AutocastOptimWrapper'
]
