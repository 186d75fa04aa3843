"""DenseNAS hooks."""
from .arch_hook import DenseNASArchHook
from .warmup_hook import DenseNASWarmupHook

__all__ = ['DenseNASArchHook', 'DenseNASWarmupHook']
