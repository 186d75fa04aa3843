"""DenseNAS hooks."""
from .arch_hook import DenseNASArchHook
from .visualization_hook import DenseNASVisualizationHook
from .warmup_hook import DenseNASWarmupHook

__all__ = [
    'DenseNASArchHook', 'DenseNASVisualizationHook', 'DenseNASWarmupHook'
]
