"""DenseNAS loops."""
from .search_loop import DenseNASSearchLoop

__all__ = ['DenseNASSearchLoop']
