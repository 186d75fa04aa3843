"""Search-space spec validation and graph counts."""
import itertools

import pytest

from densenas_mm.search_space import (SearchSpace, SearchSpaceError,
                                      SpaceGraph, load_preset)


def _tiny(**overrides):
    spec = dict(
        widths=[8, 16, 16, 24],
        resolutions=[16, 8, 8, 4],
        stages=[1, 2, 2, 3],
        num_layers=[1, 1, 0, 1],
        head_ops=['mbconv_k3_t3', 'mbconv_k5_t6'],
        stack_ops=['mbconv_k3_t3', 'skip_connect'],
        connections=3,
        input_size=32,
        stem_channels=8,
        last_dim=32,
        num_classes=10)
    spec.update(overrides)
    return spec


def test_mbv2_preset_reproduces_paper_counts():
    graph = SpaceGraph(load_preset('densenas_mbv2_224'))
    assert graph.summary() == dict(
        blocks=16,
        edges=54,
        head_branches=51,
        terminal_branches=3,
        stacking_layers=39,
        paths=15456)


def test_resnet_preset_counts_and_rule():
    space = load_preset('densenas_resnet_224')
    graph = SpaceGraph(space)
    assert space.num_blocks == 20 and graph.num_stack_layers == 113
    # stage and resolution rules bind before m = 10
    for edge in graph.edges:
        assert graph.stages[edge.dst] - graph.stages[edge.src] <= 1
        assert edge.stride in (1, 2)
    assert graph.outgoing[0] == [1, 2, 3]
    assert graph.outgoing[1] == [2, 3, 4, 5, 6]


def test_connection_rule_breaks_not_skips():
    graph = SpaceGraph(load_preset('densenas_mbv2_224'))
    # node 4 (stage 2) reaches stage 3 blocks only; stage 4 would be a jump
    assert graph.outgoing[4] == [5, 6, 7]
    assert graph.outgoing[2] == [3, 4, 5, 6]  # m = 4 caps it
    # incoming edges are listed nearest predecessor first
    assert graph.incoming[7] == [6, 5, 4, 3]
    edge = graph.edge(3, 5)
    assert edge.stride == 2 and edge.in_index == 1 and edge.out_index == 1


def test_path_count_matches_enumeration():
    graph = SpaceGraph(SearchSpace.from_config(_tiny()))
    paths = []

    def walk(node, acc):
        if node == graph.terminal:
            paths.append(acc)
            return
        for nxt in graph.outgoing[node]:
            walk(nxt, acc + [nxt])

    walk(0, [0])
    assert len(paths) == graph.num_paths() == 3
    assert all(graph.is_path(p) for p in paths)
    # every path visits every stage
    for p in paths:
        assert {graph.stages[n] for n in p} == set(range(0, 5))


@pytest.mark.parametrize('overrides, message', [
    (dict(widths=[8, 16, 16]), 'lengths differ'),
    (dict(widths=[8, 16, 12, 24]), 'widths must not decrease: block 3'),
    (dict(stages=[1, 2, 1, 3]), 'stage ids must not decrease: block 3'),
    (dict(stages=[1, 2, 2, 4]), 'stage 3 is empty'),
    (dict(stages=[2, 2, 2, 3]), 'stage 1 is empty'),
    (dict(resolutions=[16, 4, 4, 4]), 'resolution of block 2 is 4 after 16'),
    (dict(resolutions=[16, 8, 16, 4]), 'resolution of block 3'),
    (dict(head_ops=['mbconv_k4_t3']), "unknown op 'mbconv_k4_t3'"),
    (dict(stack_ops=['conv3x3']), "stack_ops[0]: unknown op 'conv3x3'"),
    (dict(head_ops=['skip_connect']), 'head_ops must not contain'),
    (dict(head_ops=['basic_block']), 'all be MobileNetV2'),
    (dict(connections=[1, 2]), 'connections has 2 entries'),
    (dict(connections=0), 'connections must be >= 1'),
    (dict(num_layers=[1, -1, 0, 1]), 'num_layers[1] (block 2) must be >= 0'),
    (dict(input_size=30, stem_stride=4), 'not divisible'),
    (dict(colour='red'), "unknown search-space keys ['colour']"),
    (dict(stack_ops=[]), 'stack_ops is empty'),
])
def test_validation_errors_name_the_entry(overrides, message):
    with pytest.raises(SearchSpaceError) as err:
        SearchSpace.from_config(_tiny(**overrides))
    assert message in str(err.value)


def test_missing_required_key():
    spec = _tiny()
    del spec['stages']
    with pytest.raises(SearchSpaceError, match=r"lacks required keys \['stages'\]"):
        SearchSpace.from_config(spec)


def test_graph_rejects_space_without_path():
    # bypass list validation: a space whose blocks cannot link at all
    space = SearchSpace(**_tiny(connections=0))
    with pytest.raises(SearchSpaceError, match='no path leads from the stem'):
        SpaceGraph(space)


def test_per_stage_connections():
    space = SearchSpace.from_config(_tiny(connections=[1, 1, 1, 1]))
    graph = SpaceGraph(space)
    assert all(len(graph.outgoing[i]) == 1 for i in range(graph.terminal))
    assert graph.num_paths() == 1


def test_round_trip_to_dict():
    space = load_preset('densenas_demo_32')
    again = SearchSpace.from_config(space.to_dict())
    assert again == space
    assert list(itertools.accumulate(again.num_layers))[-1] == 5
