"""Stable names of the searchable parts of a DenseNAS supernet.

These names are the aliases of the mutables, the keys of the mutator's
``arch_params``, the keys of exported subnets and of cost tables, so they
never contain dots (ParameterDict keys) and never depend on module paths.
"""


def head_alias(dst: int, src: int) -> str:
    """Alias of block ``dst``'s head layer for the edge from ``src``."""
    return f'b{dst:02d}_head_from{src:02d}'


def layer_alias(block: int, layer: int) -> str:
    """Alias of stacking layer ``layer`` (0-based) of ``block``."""
    return f'b{block:02d}_layer{layer}'


def route_alias(src: int) -> str:
    """Alias of the route (beta) over ``src``'s outgoing edges."""
    return f'route{src:02d}'


def terminal_alias(src: int) -> str:
    """Name of the terminal 1x1 branch fed by ``src`` (not searchable)."""
    return f'terminal_from{src:02d}'


def target_name(dst: int) -> str:
    """Name of a route choice: the destination node ``dst``."""
    return f'to{dst:02d}'
