"""DenseNAS hooks."""
from .arch_hook import DenseNASArchHook
from .logger_hook import DenseNASLoggerHook
from .timer_hook import DenseNASTimerHook
from .visualization_hook import DenseNASVisualizationHook
from .warmup_hook import DenseNASWarmupHook

__all__ = [
    'DenseNASArchHook', 'DenseNASLoggerHook', 'DenseNASTimerHook',
    'DenseNASVisualizationHook', 'DenseNASWarmupHook'
]
