"""Engine components: the search loop and hooks."""
from .hooks import DenseNASArchHook, DenseNASWarmupHook
from .runner import DenseNASSearchLoop

__all__ = ['DenseNASArchHook', 'DenseNASWarmupHook', 'DenseNASSearchLoop']
