"""The DenseNAS supernet backbone (MobileNetV2- and ResNet-based spaces)."""
from typing import Dict, List, Optional, Set, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcls.models.backbones.base_backbone import BaseBackbone
from torch import Tensor

from densenas_mm.models.mutables import DenseNASMixedOp, DenseNASRoute
from densenas_mm.registry import MODELS
from densenas_mm.search_space import (SearchSpace, SpaceGraph, build_op,
                                      init_weights, set_bn_eps, stem_op_name)
from densenas_mm.search_space.grammar import TERMINAL as TERMINAL_OP
from densenas_mm.search_space.naming import (block_key, edge_key, head_alias,
                                             layer_alias, route_alias,
                                             target_name)
from .state_keys import BLOCKS, HEADS, LAYERS, STEM, TERMINAL

#: How the terminal node weighs its incoming 1x1 branches (see
#: :class:`DenseNASSupernet`).
TERMINAL_WEIGHTS = ('route', 'softmax')


class RoutingBlock(nn.Module):
    """Head layers (one mixed op per incoming edge) + stacking layers.

    Children registered under the names of :mod:`.state_keys`.

    Args:
        graph (SpaceGraph): The supernet graph.
        node (int): This block's node id.
        space (SearchSpace): The search space.
    """
    heads: nn.ModuleDict  # HEADS
    layers: nn.ModuleList  # LAYERS

    def __init__(self, graph: SpaceGraph, node: int,
                 space: SearchSpace) -> None:
        super().__init__()
        width = graph.widths[node]
        self.add_module(
            HEADS,
            nn.ModuleDict({
                edge_key(edge.src):
                DenseNASMixedOp(
                    space.head_ops,
                    graph.widths[edge.src],
                    width,
                    edge.stride,
                    alias=head_alias(node, edge.src),
                    act=space.act,
                    input_size=graph.resolutions[edge.src])
                for edge in graph.in_edges(node)
            }))
        self.add_module(LAYERS, nn.ModuleList(
            DenseNASMixedOp(
                space.stack_ops,
                width,
                width,
                1,
                alias=layer_alias(node, layer),
                act=space.act,
                input_size=graph.resolutions[node])
            for layer in range(graph.num_layers[node])))


@MODELS.register_module()
class DenseNASSupernet(BaseBackbone):
    """Densely connected DenseNAS supernet, an mmcls backbone.

    Block j's input is ``sum_i p_ij * head_ij(x_i)`` over its incoming edges,
    with ``p_i = softmax(beta_i / T)`` normalised over i's outgoing edges; its
    stacking layers follow. The terminal node combines its 1x1 branches
    ``conv1x1_i(x_i)`` by ``terminal_weights``:

    - ``'route'``: with ``p_iT``, like every other block (what the paper's
      text describes: one rule for every node);
    - ``'softmax'``: with ``softmax_i(p_iT)`` over its incoming edges, a
      second normalisation (what the reference code computes).

    Both modes compute the same network once the routes are fixed to one
    path (a softmax over a single edge is 1), and the chained cost is the
    same for both (the expectation over paths, whose probabilities are the
    ``p_ij``; the reference's own cost weighs the 1x1 branches by ``p_iT``
    too). Output: a one-tuple with the terminal feature map (for mmcls's
    ``GlobalAveragePooling`` neck).

    BN is affine=False in every searchable op, as in the reference; as
    there, the ResNet stem's BN and the projection BN of the MobileNetV2
    stem's fixed ``mbconv_k3_t1`` are affine, and BN eps is 1e-3 in the
    MobileNetV2 family, 1e-5 in the ResNet family
    (:data:`~densenas_mm.search_space.ops.BN_EPS_OF_FAMILY`). Edges whose
    source is fixed to another target and blocks that no active edge
    reaches are not computed.

    Args:
        search_space (dict | SearchSpace): The space (validated on build).
        route_temperature (float): T of every route (1.0 MBV2, 0.9 ResNet).
        terminal_weights (str): ``'route'`` (default) or ``'softmax'`` (the
            reference; set in the search configs).
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

    Its children are registered under the names of :mod:`.state_keys`
    (the key layout the converter maps a derived net onto).
    """
    stem: nn.Module  # STEM
    blocks: nn.ModuleDict  # BLOCKS
    terminal: nn.ModuleDict  # TERMINAL

    def __init__(self,
                 search_space: Union[Dict, SearchSpace],
                 route_temperature: float = 1.0,
                 terminal_weights: str = 'route',
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if terminal_weights not in TERMINAL_WEIGHTS:
            raise ValueError(
                f'DenseNASSupernet: terminal_weights must be one of '
                f'{TERMINAL_WEIGHTS}, got {terminal_weights!r}')
        self.terminal_weights = terminal_weights
        self.space = SearchSpace.from_config(search_space)
        self.graph = SpaceGraph(self.space)
        space, graph = self.space, self.graph
        self.add_module(
            STEM,
            build_op(
                stem_op_name(space.stem_ops),
                space.in_channels,
                space.stem_channels,
                space.stem_stride,
                # the reference's ResNet stem BN has PyTorch's defaults
                # (affine)
                affine=space.family == 'resnet',
                act=space.act))
        self.add_module(
            BLOCKS,
            nn.ModuleDict({
                block_key(j): RoutingBlock(graph, j, space)
                for j in graph.blocks
            }))
        self.add_module(
            TERMINAL,
            nn.ModuleDict({
                edge_key(e.src): build_op(
                    TERMINAL_OP, graph.widths[e.src], space.last_dim, 1,
                    affine=False, act=space.act)
                for e in graph.terminal_edges
            }))
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
        set_bn_eps(self, space.family)

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

    def edges_in_play(self) -> Set[Tuple[int, int]]:
        """The ``(src, dst)`` edges the next forward computes.

        An edge runs when its source is computed and the source's route has
        it in play (every target; the fixed one; the sampled one); a block
        is computed when an edge into it runs. With one path sampled
        (``DenseRoutingMutator.sample_path``) these are the path's edges.

        Raises:
            RuntimeError: If no edge in play reaches the terminal.
        """
        graph = self.graph
        in_play = {
            i: set(route.active_targets())
            for i, route in self._routes_by_node()
        }
        computed, edges = {0}, set()
        for j in range(1, graph.terminal + 1):
            for edge in graph.in_edges(j):
                if edge.src in computed and edge.out_index in in_play[
                        edge.src]:
                    edges.add((edge.src, j))
                    computed.add(j)
        if graph.terminal not in computed:
            raise RuntimeError('no active path reaches the terminal; the '
                               'fixed routes do not form a path')
        return edges

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        graph = self.graph
        feats: Dict[int, Tensor] = {0: self.stem(x)}
        probs = {i: route() for i, route in self._routes_by_node()}
        fan_out = {
            i: len(route.active_targets())
            for i, route in self._routes_by_node()
        }
        run = self.edges_in_play()
        for j in range(1, graph.terminal + 1):
            outs, weights = [], []
            for edge in graph.in_edges(j):
                if (edge.src, j) not in run:
                    continue
                branch = (self.terminal[edge_key(edge.src)]
                          if j == graph.terminal else
                          self.blocks[block_key(j)].heads[edge_key(edge.src)])
                outs.append(branch(feats[edge.src]))
                # a source routed to one target only passes weight 1
                weights.append(probs[edge.src][edge.out_index]
                               if fan_out[edge.src] > 1 else None)
            for edge in graph.in_edges(j):
                if self._last_use.get(edge.src) == j:
                    feats.pop(edge.src, None)
            if not outs:
                continue
            if j == graph.terminal and self.terminal_weights == 'softmax':
                weights = self._softmax_weights(weights, outs[0])
            total = None
            for out, weight in zip(outs, weights):
                out = out if weight is None else weight * out
                total = out if total is None else total + out
            if j != graph.terminal:
                for layer in self.blocks[block_key(j)].layers:
                    total = layer(total)
            feats[j] = total
        return (feats[graph.terminal], )

    @staticmethod
    def _softmax_weights(weights: List[Optional[Tensor]],
                         like: Tensor) -> List[Optional[Tensor]]:
        """``softmax`` over the incoming route probabilities (1 for a
        source routed to the terminal only), in float32; one edge keeps
        weight 1."""
        if len(weights) == 1:
            return [None]
        # float32 softmax of float32 probabilities, also under autocast (a
        # half cast before it would round p to 3 significant digits); the
        # 0-dim weights then scale half features without promoting them
        stacked = torch.stack([
            w.float() if w is not None else like.new_ones(
                (), dtype=torch.float32) for w in weights
        ])
        return list(F.softmax(stacked, dim=0, dtype=torch.float32))

    def _routes_by_node(self):
        for i in self.graph.nodes:
            key = route_alias(i)
            if key in self.routes:
                yield i, self.routes[key]
