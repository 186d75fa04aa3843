"""DenseNAS mutators."""
from .dense_routing_mutator import SAMPLING_MODES, DenseRoutingMutator

__all__ = ['DenseRoutingMutator', 'SAMPLING_MODES']
