"""Path sampling of the mutator (the path-sampling weight steps)."""
import collections

import pytest
import torch
from mmrazor.structures import load_fix_subnet

from densenas_mm.search_space import SearchSpace
from densenas_mm.search_space.naming import route_alias, target_name
from helpers.builders import WIDER, build_pair


def _pair():
    return build_pair(SearchSpace.from_config(WIDER))


def _path_of_routes(mutator):
    """The path the routes' choices spell, from the stem."""
    graph, node, path = mutator.graph, 0, [0]
    while node != graph.terminal:
        route = mutator._routes[route_alias(node)]
        targets = route.active_targets()
        assert len(targets) == 1, (node, targets)
        node = graph.outgoing[node][targets[0]]
        path.append(node)
    return path


def test_a_sampled_path_is_in_play_alone():
    model, mutator = _pair()
    g = torch.Generator().manual_seed(0)
    mutator.set_sampling('sample', g, sample_path=True)
    supernet = mutator.supernet
    path = _path_of_routes(mutator)
    assert path[0] == 0 and path[-1] == mutator.graph.terminal
    assert supernet.edges_in_play() == set(zip(path, path[1:]))
    # ops are sampled as without a path: one per mixed op
    assert all(len(m.active) == 1 for m in mutator._ops.values())
    out = model.extract_feat(torch.randn(2, 3, 32, 32))[0]
    assert out.shape == (2, WIDER['last_dim'])
    # the next set_sampling without a path opens every route again
    mutator.set_sampling('pair', g)
    edges = {(e.src, e.dst) for j in range(1, mutator.graph.terminal + 1)
             for e in mutator.graph.in_edges(j)}
    assert supernet.edges_in_play() == edges


def test_only_the_path_runs_and_gets_gradients():
    model, mutator = _pair()
    g = torch.Generator().manual_seed(3)
    mutator.set_sampling('sample', g, sample_path=True)
    path = _path_of_routes(mutator)
    model.extract_feat(torch.randn(2, 3, 32, 32))[0].sum().backward()
    blocks = model.backbone.blocks
    for j, block in blocks.items():
        node = int(j[1:])
        has_grad = any(p.grad is not None for p in block.parameters())
        assert has_grad == (node in path), (j, path)
    for src, branch in model.backbone.terminal.items():
        ran = any(p.grad is not None for p in branch.parameters())
        assert ran == (int(src[len('from'):]) == path[-2]), src
    # the betas of a weight step take no gradient
    assert all(p.grad is None for p in mutator.betas().values())


def test_same_seed_same_path_and_uniform_in_warmup():
    _, mutator = _pair()

    def draw(seed, mode):
        mutator.set_sampling(
            mode, torch.Generator().manual_seed(seed), sample_path=True)
        return tuple(_path_of_routes(mutator))

    assert draw(5, 'uniform') == draw(5, 'uniform')
    assert draw(5, 'sample') == draw(5, 'sample')
    # uniform per route: the stem's first route splits evenly
    node = next(i for i in mutator.graph.nodes
                if len(mutator.graph.outgoing[i]) > 1)
    firsts = collections.Counter()
    n = 600
    for seed in range(n):
        path = draw(seed, 'uniform')
        if node in path:
            firsts[path[path.index(node) + 1]] += 1
    seen = sum(firsts.values())
    k = len(mutator.graph.outgoing[node])
    assert len(firsts) == k
    for count in firsts.values():
        assert abs(count / seen - 1 / k) < 4 * (1 / k / seen)**0.5 + 0.02


def test_after_warmup_paths_follow_softmax_beta():
    _, mutator = _pair()
    # make every route prefer its last target strongly (p ~ 1 - 1e-8)
    for alias, beta in mutator.betas().items():
        with torch.no_grad():
            beta.fill_(-10.0)
            beta[-1] = 10.0
    mutator.set_sampling(
        'sample', torch.Generator().manual_seed(0), sample_path=True)
    path = _path_of_routes(mutator)
    graph, node, expected = mutator.graph, 0, [0]
    while node != graph.terminal:
        node = graph.outgoing[node][-1]
        expected.append(node)
    assert path == expected
    # the route temperature divides beta: T large makes it near-uniform
    for route in mutator._routes.values():
        route.temperature = 1e6
    counts = collections.Counter()
    for seed in range(200):
        mutator.set_sampling(
            'sample', torch.Generator().manual_seed(seed), sample_path=True)
        counts[tuple(_path_of_routes(mutator))] += 1
    assert len(counts) > 3


def test_fixed_routes_are_followed():
    model, mutator = _pair()
    mutator.set_sampling('argmax')
    arch = mutator.derive()
    load_fix_subnet(model, arch.to_dict())
    mutator.set_sampling(
        'sample', torch.Generator().manual_seed(1), sample_path=True)
    assert _path_of_routes(mutator) == arch.path
    assert mutator.supernet.edges_in_play() == set(
        zip(arch.path, arch.path[1:]))


def test_path_sampling_only_for_weight_step_modes():
    _, mutator = _pair()
    for mode in ('pair', 'all', 'argmax'):
        with pytest.raises(ValueError, match='sample_path needs mode'):
            mutator.set_sampling(mode, sample_path=True)


def test_sample_path_returns_the_path_it_sets():
    _, mutator = _pair()
    mutator.set_sampling('uniform', torch.Generator().manual_seed(2))
    path = mutator.sample_path(torch.Generator().manual_seed(7))
    assert path == _path_of_routes(mutator)
    route = mutator._routes[route_alias(path[0])]
    if route.num_choices > 1:
        assert route.current_choice == target_name(path[1])
