"""DenseNAS algorithm and its distributed wrapper."""
from .ddp import DenseNASDDP
from .densenas import DenseNAS, search_batch, step_seed

__all__ = ['DenseNAS', 'DenseNASDDP', 'search_batch', 'step_seed']
