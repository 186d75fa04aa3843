"""Backbones: the DenseNAS supernet and the derived DenseNASNet."""
from .supernet import DenseNASSupernet, RoutingBlock

__all__ = ['DenseNASSupernet', 'RoutingBlock']
