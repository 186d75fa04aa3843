"""Does a derived architecture belong to a search space?

:func:`check_arch_in_space` is the one validation of an architecture
against a space. ``DenseNASNet`` runs it when the net is built, the
supernet -> subnet converter before it copies weights and the plots before
they draw a path, so an architecture that names an op which is no candidate
at its position, keeps stacking layers the space does not have, uses an
edge the space lacks (one that skips a stage), the wrong stride, a path that
disagrees with its blocks, or that was derived in another space is refused
everywhere with the same message.

Every problem found is listed (field, value, what the space allows), not
only the first.
"""
from typing import List, Optional

from densenas_mm.search_space.grammar import SKIP
from densenas_mm.search_space.graph import SpaceGraph
from densenas_mm.search_space.naming import (head_alias, layer_alias,
                                             parse_alias, parse_target,
                                             route_alias, target_name)
from densenas_mm.search_space.spec import SearchSpace
from .derivation import alias_choices
from .derived_arch import DerivedArch
from .errors import ArchError


def space_identity_problem(arch: DerivedArch,
                           space: SearchSpace) -> Optional[str]:
    """Why ``arch`` was derived in another space than ``space`` (or None).

    Compares the recorded spec (``arch.search_space``) by fingerprint, or,
    for files without one, the recorded name.
    """
    recorded = arch.recorded_space()
    if recorded is not None:
        if recorded.fingerprint() == space.fingerprint():
            return None
        diff = '; '.join(recorded.differences(space)[:6])
        return (f'the architecture was derived in search space '
                f'{recorded.name!r} (fingerprint {recorded.fingerprint()}) '
                f'but is used with space {space.name!r} (fingerprint '
                f'{space.fingerprint()}); they differ in {diff}. Use an '
                'architecture searched in this space, or the config of the '
                "architecture's space")
    if arch.space is not None and arch.space != space.name:
        return (f'the architecture records search space {arch.space!r} but '
                f'is used with space {space.name!r}')
    return None


def _scalar_problems(arch: DerivedArch, space: SearchSpace) -> List[str]:
    want = dict(
        family=space.family,
        stem_channels=space.stem_channels,
        stem_stride=space.stem_stride,
        stem_ops=list(space.stem_ops),
        act=space.act,
        in_channels=space.in_channels,
        input_size=space.input_size,
        num_classes=space.num_classes,
        last_dim=space.last_dim if space.terminal_in_subnet else None)
    return [
        f'{key} is {getattr(arch, key)!r} but space {space.name!r} has '
        f'{value!r}' for key, value in want.items()
        if getattr(arch, key) != value
    ]


def _block_problems(arch: DerivedArch, space: SearchSpace,
                    graph: SpaceGraph) -> List[str]:
    problems = []
    for i, blk in enumerate(arch.blocks):
        where = f'block {i} (node {blk.node})'
        if blk.node not in graph.blocks:
            problems.append(f'{where}: node {blk.node} is not a block of '
                            f'space {space.name!r} (blocks are '
                            f'1..{space.num_blocks})')
            continue
        if (blk.src, blk.node) not in {(e.src, e.dst) for e in graph.edges}:
            problems.append(
                f'{where}: the space has no edge {blk.src} -> {blk.node} '
                f'(a path visits every stage; from node {blk.src} the '
                f'space connects to {graph.outgoing.get(blk.src, [])})')
            continue
        edge = graph.edge(blk.src, blk.node)
        if blk.c_in != graph.widths[blk.src]:
            problems.append(f'{where}: c_in is {blk.c_in} but node '
                            f'{blk.src} has width {graph.widths[blk.src]}')
        if blk.c_out != graph.widths[blk.node]:
            problems.append(f'{where}: c_out is {blk.c_out} but node '
                            f'{blk.node} has width {graph.widths[blk.node]}')
        if blk.stride != edge.stride:
            res = graph.resolutions
            problems.append(
                f'{where}: stride is {blk.stride} but the edge {blk.src} -> '
                f'{blk.node} goes from resolution {res[blk.src]} to '
                f'{res[blk.node]}, so the stride must be {edge.stride}')
        if blk.head_op not in space.head_ops:
            problems.append(f'{where}: head op {blk.head_op!r} is not a '
                            f'candidate of the space; head candidates: '
                            f'{list(space.head_ops)}')
        layers = graph.num_layers[blk.node]
        if blk.stack_ops and blk.layer_ids is None:
            problems.append(
                f'{where}: has stacking ops but no layer_ids, so they cannot '
                'be placed on the supernet\'s stacking layers')
        for lid, op in zip(blk.layer_ids or [], blk.stack_ops):
            if lid >= layers:
                problems.append(
                    f'{where}: stacking layer {lid} does not exist: node '
                    f'{blk.node} has {layers} stacking layer(s) in space '
                    f'{space.name!r}')
            elif op not in space.stack_ops:
                problems.append(
                    f'{where}: stacking op {op!r} (layer {lid}) is not a '
                    f'candidate of the space; stacking candidates: '
                    f'{list(space.stack_ops)}')
    last = arch.blocks[-1].node
    if last in graph.blocks and graph.terminal not in graph.outgoing[last]:
        feeders = graph.incoming[graph.terminal]
        problems.append(
            f'the last block (node {last}) does not reach the terminal: the '
            f'space feeds its terminal from nodes {feeders}. The file may be '
            'truncated, or blocks were removed')
    nodes = [0] + [b.node for b in arch.blocks] + [graph.terminal]
    if arch.path is not None and list(arch.path) != nodes:
        problems.append(f'path is {arch.path} but the blocks give {nodes}')
    return problems


def _fix_subnet_problems(arch: DerivedArch, space: SearchSpace,
                         graph: SpaceGraph) -> List[str]:
    """The fix_subnet entries are mutables of the space with valid choices
    and fix the same net as the blocks."""
    problems = []
    fix = arch.fix_subnet
    for alias, chosen in fix.items():
        try:
            choices = alias_choices(space, graph, alias)
        except ValueError as err:
            problems.append(f'fix_subnet entry {alias!r} is no mutable of '
                            f'the space ({err})')
            continue
        if chosen not in choices:
            problems.append(f'fix_subnet {alias!r} chooses {chosen!r}; '
                            f'allowed: {choices}')
    if not fix:
        return problems
    want = {}
    nodes = [0] + [b.node for b in arch.blocks] + [graph.terminal]
    for src, dst in zip(nodes, nodes[1:]):
        want[route_alias(src)] = target_name(dst)
    for blk in arch.blocks:
        want[head_alias(blk.node, blk.src)] = blk.head_op
        kept = dict(zip(blk.layer_ids or [], blk.stack_ops))
        layers = graph.num_layers[blk.node] if blk.node in graph.blocks \
            else 0
        for k in range(layers):
            want[layer_alias(blk.node, k)] = kept.get(k, SKIP)
    for alias, value in want.items():
        if alias in fix and fix[alias] != value:
            if parse_alias(alias).kind == 'route' and value.startswith('to'):
                value = f'{value} (node {parse_target(value)})'
            problems.append(f'fix_subnet {alias!r} is {fix[alias]!r} but the '
                            f'blocks use {value}; the file was edited '
                            'inconsistently')
    return problems


def check_arch_in_recorded_space(arch: DerivedArch,
                                 source: Optional[str] = None
                                 ) -> Optional[SearchSpace]:
    """Check ``arch`` against the search space its file records (the check
    of :func:`check_arch_in_space`; nothing for an architecture that records
    none, such as a published ``net_config`` string).

    Args:
        arch (DerivedArch): The architecture.
        source (str, optional): Its file, named in the error.

    Returns:
        SearchSpace | None: The recorded space.

    Raises:
        ArchError: Listing every problem found.
    """
    space = arch.recorded_space()
    if space is not None:
        try:
            check_arch_in_space(arch, space)
        except ArchError as err:
            if source is None:
                raise
            raise ArchError(f'{source}: {err}') from None
    return space


def check_arch_in_space(arch: DerivedArch,
                        space: SearchSpace,
                        graph: Optional[SpaceGraph] = None) -> None:
    """Raise unless ``arch`` is a net of ``space``.

    Checks that ``arch`` was derived in ``space`` (recorded spec or name),
    that stem, activation, input size, classes and terminal match the space,
    and for every block: that its node exists, that the space has its edge,
    that widths and stride are the edge's, that its head and stacking ops
    are candidates there and its stacking layers exist; that the last block
    feeds the terminal; that ``path`` and ``fix_subnet`` agree with the
    blocks.

    Args:
        arch (DerivedArch): The architecture (already self-consistent).
        space (SearchSpace): The space it must belong to.
        graph (SpaceGraph, optional): The space's graph, if built already.

    Raises:
        ArchError: Listing every problem found.
    """
    identity = space_identity_problem(arch, space)
    if identity is not None:
        raise ArchError(identity)
    if any(b.node is None for b in arch.blocks):
        raise ArchError(
            'the blocks have no supernet node/src, so the architecture '
            f'cannot be placed in space {space.name!r}: published '
            'net_config strings carry no coordinates. Use the YAML the '
            'search derived, or build the net without a search space')
    graph = graph or SpaceGraph(space)
    problems = (_scalar_problems(arch, space) +
                _block_problems(arch, space, graph) +
                _fix_subnet_problems(arch, space, graph))
    if problems:
        listed = '\n  - '.join(problems)
        raise ArchError(
            f'the architecture does not fit search space {space.name!r} '
            f'({len(problems)} problem(s)):\n  - {listed}')
