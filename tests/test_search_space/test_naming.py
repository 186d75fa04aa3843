"""Aliases and module keys, and their inverses."""
import pytest

from densenas_mm.search_space import SpaceGraph, load_preset
from densenas_mm.search_space.naming import (Alias, block_key, edge_key,
                                             head_alias, layer_alias,
                                             parse_alias, parse_target,
                                             route_alias, target_name)


def test_every_alias_of_the_paper_space_parses_back():
    graph = SpaceGraph(load_preset('densenas_mbv2_224'))
    seen = set()
    for edge in graph.head_edges:
        alias = head_alias(edge.dst, edge.src)
        assert parse_alias(alias) == Alias('head', block=edge.dst,
                                           src=edge.src)
        seen.add(alias)
    for block in graph.blocks:
        for layer in range(graph.num_layers[block]):
            alias = layer_alias(block, layer)
            assert parse_alias(alias) == Alias('layer', block=block,
                                               layer=layer)
            seen.add(alias)
    for node in graph.nodes:
        alias = route_alias(node)
        assert parse_alias(alias) == Alias('route', src=node)
        for dst in graph.outgoing[node]:
            assert parse_target(target_name(dst)) == dst
    # 51 head branches + 39 stacking layers, all distinct
    assert len(seen) == 51 + 39


def test_names_have_no_dots_and_fixed_width():
    assert head_alias(4, 1) == 'b04_head_from01'
    assert layer_alias(12, 2) == 'b12_layer2'
    assert route_alias(3) == 'route03'
    assert (block_key(7), edge_key(13)) == ('b07', 'from13')
    assert not any('.' in n for n in (head_alias(99, 98), route_alias(100)))


@pytest.mark.parametrize('bad', ['b4_head_from1', 'route', 'to05', '', 'x'])
def test_foreign_strings_are_refused(bad):
    with pytest.raises(ValueError, match='not a DenseNAS alias'):
        parse_alias(bad)
    with pytest.raises(ValueError, match='not a route target'):
        parse_target('route05')
