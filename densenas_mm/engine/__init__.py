"""Engine components: the search loop and hooks."""
from .hooks import (DenseNASArchHook, DenseNASVisualizationHook,
                    DenseNASWarmupHook)
from .runner import DenseNASSearchLoop

__all__ = [
    'DenseNASArchHook', 'DenseNASVisualizationHook', 'DenseNASWarmupHook',
    'DenseNASSearchLoop'
]
