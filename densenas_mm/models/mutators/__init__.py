"""DenseNAS mutators."""
from .choices import CHOICE_KINDS
from .dense_routing_mutator import SAMPLING_MODES, DenseRoutingMutator

__all__ = ['CHOICE_KINDS', 'DenseRoutingMutator', 'SAMPLING_MODES']
