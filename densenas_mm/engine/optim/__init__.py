"""Optimiser wrappers of densenas_mm."""
from .autocast_optim_wrapper import AutocastOptimWrapper
from .precision import compute_dtype

__all__ = ['AutocastOptimWrapper', 'compute_dtype']
