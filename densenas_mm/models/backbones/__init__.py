"""Backbones: the DenseNAS supernet and the derived DenseNASNet, and the
state-dict key layout they share (:mod:`.state_keys`)."""
from . import state_keys
from .densenas_net import DenseNASBlock, DenseNASNet, check_head_fits
from .state_keys import subnet_to_supernet_key
from .supernet import DenseNASSupernet, RoutingBlock

__all__ = ['DenseNASSupernet', 'RoutingBlock', 'DenseNASNet', 'DenseNASBlock',
           'check_head_fits', 'state_keys', 'subnet_to_supernet_key']
