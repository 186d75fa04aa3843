"""Search spaces: specification, graph, op grammar, ops and names."""
from .depthwise import (WEIGHT_GRAD_KERNELS, DepthwiseConv2d,
                        set_depthwise_weight_grad)
from .errors import SearchSpaceError
from .grammar import (CLASSIFIER, STEM, OpSpec, parse_op, parse_part,
                      stem_op_name)
from .graph import Edge, SpaceGraph
from .loading import (load_preset, preset_names, preset_path,
                      search_space_from_cfg)
from .ops import (BasicBlock, Bottleneck, Classifier, ConvBNAct, MBConv,
                  SkipConnect, build_op, init_weights, set_bn_eps)
from .spec import SearchSpace, space_from_config

__all__ = [
    'Edge', 'SpaceGraph', 'SearchSpace', 'SearchSpaceError',
    'space_from_config', 'OpSpec', 'parse_op', 'parse_part', 'stem_op_name',
    'STEM', 'CLASSIFIER', 'build_op', 'init_weights', 'set_bn_eps', 'MBConv',
    'BasicBlock', 'Bottleneck', 'SkipConnect', 'ConvBNAct', 'Classifier',
    'search_space_from_cfg', 'load_preset', 'preset_names', 'preset_path',
    'DepthwiseConv2d', 'set_depthwise_weight_grad', 'WEIGHT_GRAD_KERNELS'
]
