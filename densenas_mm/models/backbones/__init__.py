"""Backbones: the DenseNAS supernet and the derived DenseNASNet."""
from .densenas_net import DenseNASBlock, DenseNASNet, check_head_fits
from .supernet import DenseNASSupernet, RoutingBlock

__all__ = ['DenseNASSupernet', 'RoutingBlock', 'DenseNASNet', 'DenseNASBlock',
           'check_head_fits']
