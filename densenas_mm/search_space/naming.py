"""Stable names of the parts of a DenseNAS supernet, and their inverses.

Aliases (:func:`head_alias`, :func:`layer_alias`, :func:`route_alias`) name
the mutables: they key the mutator's ``arch_params``, exported subnets and
cost tables, so they never contain dots (ParameterDict keys) and never
depend on module paths. :func:`parse_alias` reads one back.

Module keys (:func:`block_key`, :func:`edge_key`) name the supernet's
submodules (``blocks.b04.heads.from01``, ``terminal.from13``); the
supernet -> subnet converter maps checkpoint keys with the same functions.
"""
import re
from dataclasses import dataclass
from typing import Optional

_HEAD = re.compile(r'^b(\d{2,})_head_from(\d{2,})$', re.ASCII)
_LAYER = re.compile(r'^b(\d{2,})_layer(\d+)$', re.ASCII)
_ROUTE = re.compile(r'^route(\d{2,})$', re.ASCII)
_TARGET = re.compile(r'^to(\d{2,})$', re.ASCII)


def head_alias(dst: int, src: int) -> str:
    """Alias of block ``dst``'s head layer for the edge from ``src``."""
    return f'b{dst:02d}_head_from{src:02d}'


def layer_alias(block: int, layer: int) -> str:
    """Alias of stacking layer ``layer`` (0-based) of ``block``."""
    return f'b{block:02d}_layer{layer}'


def route_alias(src: int) -> str:
    """Alias of the route (beta) over ``src``'s outgoing edges."""
    return f'route{src:02d}'


def target_name(dst: int) -> str:
    """Name of a route choice: the destination node ``dst``."""
    return f'to{dst:02d}'


@dataclass(frozen=True)
class Alias:
    """What an alias names.

    Attributes:
        kind (str): ``'head'``, ``'layer'`` or ``'route'``.
        block (int, optional): The block (head: the destination; layer: the
            block the layer belongs to); None for routes.
        src (int, optional): Source node of a head edge or of a route.
        layer (int, optional): Stacking-layer index of a layer alias.
    """
    kind: str
    block: Optional[int] = None
    src: Optional[int] = None
    layer: Optional[int] = None


def parse_alias(alias: str) -> Alias:
    """Inverse of the alias functions above.

    Raises:
        ValueError: For a string that is no alias of this module.
    """
    for pattern, kind in ((_HEAD, 'head'), (_LAYER, 'layer'),
                          (_ROUTE, 'route')):
        match = pattern.match(str(alias))
        if match:
            nums = [int(g) for g in match.groups()]
            if kind == 'head':
                return Alias('head', block=nums[0], src=nums[1])
            if kind == 'layer':
                return Alias('layer', block=nums[0], layer=nums[1])
            return Alias('route', src=nums[0])
    raise ValueError(
        f'{alias!r} is not a DenseNAS alias (forms: b04_head_from01, '
        'b04_layer0, route03)')


def parse_target(name: str) -> int:
    """Inverse of :func:`target_name`: the destination node."""
    match = _TARGET.match(str(name))
    if not match:
        raise ValueError(f'{name!r} is not a route target (form: to05)')
    return int(match.group(1))


def block_key(node: int) -> str:
    """Key of block ``node`` in the supernet's ``blocks`` ModuleDict."""
    return f'b{node:02d}'


def edge_key(src: int) -> str:
    """Key of the branch fed by ``src`` in a block's ``heads`` or in the
    supernet's ``terminal`` ModuleDict."""
    return f'from{src:02d}'
