"""DenseNAS hooks."""
from .arch_hook import DenseNASArchHook
from .checkpoint_hook import DenseNASCheckpointHook, save_checkpoint_atomic
from .visualization_hook import DenseNASVisualizationHook
from .warmup_hook import DenseNASWarmupHook

__all__ = [
    'DenseNASArchHook', 'DenseNASCheckpointHook', 'DenseNASVisualizationHook',
    'DenseNASWarmupHook', 'save_checkpoint_atomic'
]
