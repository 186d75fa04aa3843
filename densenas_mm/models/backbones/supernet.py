"""The DenseNAS supernet backbone (MobileNetV2- and ResNet-based spaces)."""
from typing import Dict, Optional, Tuple, Union

import torch.nn as nn
from mmcls.models.backbones.base_backbone import BaseBackbone
from torch import Tensor

from densenas_mm.models.mutables import DenseNASMixedOp, DenseNASRoute
from densenas_mm.registry import MODELS
from densenas_mm.search_space import (SearchSpace, SpaceGraph, build_op,
                                      init_weights, stem_op_name)
from densenas_mm.search_space.grammar import TERMINAL
from densenas_mm.search_space.naming import (block_key, edge_key, head_alias,
                                             layer_alias, route_alias,
                                             target_name)


class RoutingBlock(nn.Module):
    """Head layers (one mixed op per incoming edge) + stacking layers.

    Args:
        graph (SpaceGraph): The supernet graph.
        node (int): This block's node id.
        space (SearchSpace): The search space.
    """

    def __init__(self, graph: SpaceGraph, node: int,
                 space: SearchSpace) -> None:
        super().__init__()
        width = graph.widths[node]
        self.heads = nn.ModuleDict()
        for edge in graph.in_edges(node):
            self.heads[edge_key(edge.src)] = DenseNASMixedOp(
                space.head_ops,
                graph.widths[edge.src],
                width,
                edge.stride,
                alias=head_alias(node, edge.src),
                act=space.act,
                input_size=graph.resolutions[edge.src])
        self.layers = nn.ModuleList(
            DenseNASMixedOp(
                space.stack_ops,
                width,
                width,
                1,
                alias=layer_alias(node, layer),
                act=space.act,
                input_size=graph.resolutions[node])
            for layer in range(graph.num_layers[node]))


@MODELS.register_module()
class DenseNASSupernet(BaseBackbone):
    """Densely connected DenseNAS supernet, an mmcls backbone.

    Block j's input is ``sum_i p_ij * head_ij(x_i)`` over its incoming edges,
    with ``p_i = softmax(beta_i / T)`` normalised over i's outgoing edges; its
    stacking layers follow. The terminal node sums ``p_iT * conv1x1_i(x_i)``.
    Output: a one-tuple with the terminal feature map (for mmcls's
    ``GlobalAveragePooling`` neck). BN is affine=False in every searchable
    op, as in the reference. Edges whose source is fixed to another target
    and blocks that no active edge reaches are not computed.

    Args:
        search_space (dict | SearchSpace): The space (validated on build).
        route_temperature (float): T of every route (1.0 MBV2, 0.9 ResNet).
        init_cfg (dict, optional): mmengine init config; by default the
            reference initialisation is applied in :meth:`init_weights`.

    Example:
        >>> model = dict(
        ...     type='mmcls.ImageClassifier',
        ...     backbone=dict(type='densenas_mm.DenseNASSupernet',
        ...                   search_space={{_base_.search_space}}),
        ...     neck=dict(type='GlobalAveragePooling'),
        ...     head=dict(type='LinearClsHead', num_classes=100,
        ...               in_channels=1984))
    """

    def __init__(self,
                 search_space: Union[Dict, SearchSpace],
                 route_temperature: float = 1.0,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.space = SearchSpace.from_config(search_space)
        self.graph = SpaceGraph(self.space)
        space, graph = self.space, self.graph
        self.stem = build_op(
            stem_op_name(space.stem_ops),
            space.in_channels,
            space.stem_channels,
            space.stem_stride,
            affine=False,
            act=space.act)
        self.blocks = nn.ModuleDict({
            block_key(j): RoutingBlock(graph, j, space)
            for j in graph.blocks
        })
        self.terminal = nn.ModuleDict({
            edge_key(e.src): build_op(
                TERMINAL, graph.widths[e.src], space.last_dim, 1,
                affine=False, act=space.act)
            for e in graph.terminal_edges
        })
        self.routes = nn.ModuleDict({
            route_alias(i): DenseNASRoute(
                [target_name(j) for j in graph.outgoing[i]],
                alias=route_alias(i),
                temperature=route_temperature)
            for i in graph.nodes if graph.outgoing[i]
        })
        # Free a node's features once its last consumer has run.
        self._last_use = {
            i: max(graph.outgoing[i])
            for i in graph.nodes if graph.outgoing[i]
        }

    @property
    def out_channels(self) -> int:
        """Width of the output feature map."""
        return self.space.last_dim

    def init_weights(self) -> None:
        """Reference init unless an init_cfg (e.g. Pretrained) is given."""
        if self.init_cfg:
            super().init_weights()
        else:
            init_weights(self, self.space.family)

    def mixed_ops(self) -> Dict[str, DenseNASMixedOp]:
        """Every mixed op by alias."""
        return {
            m.alias: m
            for m in self.modules() if isinstance(m, DenseNASMixedOp)
        }

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        graph = self.graph
        feats: Dict[int, Tensor] = {0: self.stem(x)}
        probs = {i: route() for i, route in self._routes_by_node()}
        active = {
            i: set(route.active_targets())
            for i, route in self._routes_by_node()
        }
        for j in range(1, graph.terminal + 1):
            total = None
            for edge in graph.in_edges(j):
                if edge.src not in feats or edge.out_index not in active[
                        edge.src]:
                    continue
                branch = (self.terminal[edge_key(edge.src)]
                          if j == graph.terminal else
                          self.blocks[block_key(j)].heads[edge_key(edge.src)])
                out = branch(feats[edge.src])
                if len(active[edge.src]) > 1:
                    out = probs[edge.src][edge.out_index] * out
                total = out if total is None else total + out
            for edge in graph.in_edges(j):
                if self._last_use.get(edge.src) == j:
                    feats.pop(edge.src, None)
            if total is None:
                continue
            if j != graph.terminal:
                for layer in self.blocks[block_key(j)].layers:
                    total = layer(total)
            feats[j] = total
        if graph.terminal not in feats:
            raise RuntimeError('no active path reaches the terminal; the '
                               'fixed routes do not form a path')
        return (feats[graph.terminal], )

    def _routes_by_node(self):
        for i in self.graph.nodes:
            key = route_alias(i)
            if key in self.routes:
                yield i, self.routes[key]
