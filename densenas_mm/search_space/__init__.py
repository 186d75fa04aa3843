"""Search spaces: specification, graph and candidate ops."""
from .graph import Edge, SpaceGraph
from .ops import (BasicBlock, Bottleneck, ConvBNAct, MBConv, OpSpec,
                  SkipConnect, build_op, init_weights, parse_op)
from .spec import SearchSpace, SearchSpaceError, space_from_config

__all__ = [
    'Edge', 'SpaceGraph', 'SearchSpace', 'SearchSpaceError',
    'space_from_config', 'OpSpec', 'parse_op', 'build_op', 'init_weights',
    'MBConv', 'BasicBlock', 'Bottleneck', 'SkipConnect', 'ConvBNAct'
]

from .loading import load_preset, preset_path, search_space_from_cfg  # noqa: E402,E501

__all__ += ['search_space_from_cfg', 'load_preset', 'preset_path']
