"""DenseNAS loops and the record they keep."""
from .epoch_record import EpochRecord
from .search_loop import DenseNASSearchLoop

__all__ = ['DenseNASSearchLoop', 'EpochRecord']
