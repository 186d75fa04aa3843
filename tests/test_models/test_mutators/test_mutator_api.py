"""mmrazor's mutator / mutable API on the DenseNAS supernet.

The pattern of mmrazor's own ``test_nas_mutator.py``: build through the
registries, prepare, sample (random / max / min), set, and run the model;
here every key is a mutable's alias and ``max`` / ``min`` are defined by
mult-adds.
"""
import warnings

import pytest
import torch
import torch.nn.functional as F
from mmrazor.models.mutators import NasMutator

from densenas_mm.models.backbones import DenseNASNet
from densenas_mm.models.estimators import count_complexity
from densenas_mm.models.mutables import DenseNASMixedOp, DenseNASRoute
from densenas_mm.registry import MODELS
from densenas_mm.search_space import SearchSpace, SpaceGraph, load_preset
from densenas_mm.search_space.naming import (head_alias, parse_target,
                                             route_alias)
from helpers.builders import build_classifier, build_pair
from helpers.estimators import TINY, all_paths, path_arch, path_mutables
from test_models.test_mutators.test_mutator import WIDER


def _mutables(model):
    return {
        m.alias: m
        for m in model.modules()
        if isinstance(m, (DenseNASMixedOp, DenseNASRoute))
    }


def _walk(graph, choices):
    """The node path the route choices lead along from the stem."""
    path = [0]
    while path[-1] != graph.terminal:
        path.append(parse_target(choices[route_alias(path[-1])]))
    return path


def test_prepare_and_groups_keyed_by_alias():
    space = load_preset('densenas_demo_32')
    model = build_classifier(space)
    mutator = MODELS.build(dict(type='densenas_mm.DenseRoutingMutator'))
    assert isinstance(mutator, NasMutator)
    with pytest.raises(RuntimeError):
        _ = mutator.search_groups
    mutator.prepare_from_supernet(model)
    mutables = _mutables(model)
    graph = SpaceGraph(space)
    routes = [i for i in graph.nodes if graph.outgoing[i]]
    assert len(mutables) == (len(graph.head_edges) + graph.num_stack_layers +
                             len(routes)) == 23
    assert list(mutator.search_groups) == list(mutables)
    for alias, group in mutator.search_groups.items():
        assert group == [mutables[alias]]
    # one alpha / beta per mutable with more than one choice, same keys
    assert set(mutator.arch_params) == {
        a for a, m in mutables.items() if m.num_choices > 1}
    assert mutator.mutable_units == []


def test_custom_groups_refused():
    with pytest.raises(ValueError, match='custom_groups is not supported'):
        MODELS.build(
            dict(
                type='densenas_mm.DenseRoutingMutator',
                custom_groups=[['b01_layer0', 'b02_layer0']]))


def test_sample_choices_kinds(demo_pair):
    model, mutator = demo_pair
    torch.manual_seed(0)
    for p in mutator.arch_params.values():
        p.data = torch.randn_like(p)
    keys = list(mutator.search_groups)
    kinds = {k: mutator.sample_choices(kind=k, generator=torch.Generator()
                                       .manual_seed(0))
             for k in ('random', 'max', 'min', 'uniform', 'sample')}
    for kind, choices in kinds.items():
        assert list(choices) == keys, kind
        for alias, choice in choices.items():
            assert choice in mutator.search_groups[alias][0].choices
    # mmrazor's meaning with arch params: what they favour = the derived net
    assert kinds['random'] == mutator.derived_arch().fix_subnet
    assert kinds['max'] == mutator.max_choices
    assert kinds['min'] == mutator.min_choices
    with pytest.raises(NotImplementedError, match="got 'mun'"):
        mutator.sample_choices(kind='mun')


def test_uniform_and_sample_frequencies(demo_pair):
    _, mutator = demo_pair
    op, route = head_alias(3, 1), route_alias(1)
    mutator.arch_params[op].data = torch.tensor([1.0, 0.0, -1.0])
    mutator.arch_params[route].data = torch.tensor([0.8, -0.4])
    temperature = mutator._routes[route].temperature = 0.5
    gen = torch.Generator().manual_seed(0)
    n = 1200
    counts = {k: {a: torch.zeros(len(mutator.search_groups[a][0].choices))
                  for a in (op, route)} for k in ('uniform', 'sample')}
    for kind in counts:
        for _ in range(n):
            choices = mutator.sample_choices(kind, generator=gen)
            for alias in (op, route):
                names = mutator.search_groups[alias][0].choices
                counts[kind][alias][names.index(choices[alias])] += 1
    expected = dict(
        uniform={op: torch.full((3, ), 1 / 3), route: torch.full((2, ), .5)},
        sample={
            op: F.softmax(torch.tensor([1.0, 0.0, -1.0]), 0),
            route: F.softmax(torch.tensor([0.8, -0.4]) / temperature, 0)
        })
    for kind in counts:
        for alias, count in counts[kind].items():
            p = expected[kind][alias]
            sigma = (p * (1 - p) / n).sqrt()
            assert ((count / n - p).abs() < 4 * sigma).all(), (kind, alias)
    # seeded: the same draws again
    assert mutator.sample_choices('uniform', torch.Generator().manual_seed(
        3)) == mutator.sample_choices('uniform',
                                      torch.Generator().manual_seed(3))


def test_set_choices_changes_what_runs(demo_pair):
    model, mutator = demo_pair
    model.eval()
    ran = []
    for alias, m in _mutables(model).items():
        if isinstance(m, DenseNASMixedOp):
            for name, cand in m._candidates.items():
                cand.register_forward_hook(
                    lambda *a, key=(alias, name): ran.append(key))
    x = torch.randn(2, 3, 32, 32)
    graph = mutator.graph
    outs = []
    for seed in (0, 1):
        choices = mutator.sample_choices(
            'uniform', generator=torch.Generator().manual_seed(seed))
        mutator.set_choices(choices)
        assert mutator.current_choices == choices
        ran.clear()
        outs.append(model(x, mode='tensor'))
        path = _walk(graph, choices)
        expected = {(a, choices[a])
                    for a in path_mutables(mutator.space, graph, path)}
        assert set(ran) == expected, seed
    assert not torch.allclose(outs[0], outs[1])
    # one op changed: the forward follows it
    alias = next(a for a, c in sorted(expected) if '_layer' in a)
    names = mutator.search_groups[alias][0].choices
    other = next(n for n in names if n != choices[alias])
    mutator.set_choices({**choices, alias: other})
    ran.clear()
    model(x, mode='tensor')
    assert (alias, other) in ran and (alias, choices[alias]) not in ran
    # the next step's sampling takes over again (routes: every target)
    mutator.set_sampling('all')
    assert all(v is None for v in mutator.current_choices.values())


def test_set_choices_accepts_exported_forms_and_names_errors(demo_pair):
    model, mutator = demo_pair
    arch = mutator.derived_arch()
    as_dicts = {a: dict(chosen=c) for a, c in arch.fix_subnet.items()}
    mutator.set_choices(arch.to_dict())  # the YAML's content
    assert mutator.current_choices == arch.fix_subnet
    mutator.set_sampling('all')
    mutator.set_choices(as_dicts)
    assert mutator.current_choices == arch.fix_subnet
    missing = dict(arch.fix_subnet)
    missing.pop('route03')
    with pytest.raises(ValueError, match=r"missing \['route03'\]"):
        mutator.set_choices(missing)
    with pytest.raises(ValueError, match=r"unknown \['b09_layer0'\]"):
        mutator.set_choices({**arch.fix_subnet, 'b09_layer0': 'skip_connect'})
    with pytest.raises(ValueError, match='not among the candidates'):
        mutator.set_choices({**arch.fix_subnet, 'b01_layer0': 'mbconv_k9_t9'})
    with pytest.raises(ValueError, match='one target or all'):
        mutator.set_choices({**arch.fix_subnet, 'route01': ['to02', 'to03']})


def test_derive_puts_the_derived_net_in_play_derived_arch_does_not(
        demo_pair):
    _, mutator = demo_pair
    torch.manual_seed(1)
    for p in mutator.arch_params.values():
        p.data = torch.randn_like(p)
    mutator.set_sampling('all')
    query = mutator.derived_arch()
    assert all(v is None for v in mutator.current_choices.values())
    arch = mutator.derive()
    assert arch.fix_subnet == query.fix_subnet
    assert mutator.current_choices == arch.fix_subnet
    assert _walk(mutator.graph, mutator.current_choices) == arch.path


def test_max_min_choices_are_the_costliest_and_cheapest_nets():
    """Brute force over every path of a 44-path space, each op counted on
    the supernet's own candidate modules by the FLOPs counter."""
    space = SearchSpace.from_config(WIDER)
    model, mutator = build_pair(space)
    graph = mutator.graph
    ops = {a: m for a, m in _mutables(model).items()
           if isinstance(m, DenseNASMixedOp)}
    flops = {}
    for alias, op in ops.items():
        c_in, _, _ = op._shape
        flops[alias] = [
            count_complexity(op._candidates[name],
                             (1, c_in, op.input_size, op.input_size)).macs
            for name in op.choices
        ]
    terminal = {
        e.src: count_complexity(
            model.backbone.terminal[f'from{e.src:02d}'],
            (1, graph.widths[e.src], graph.resolutions[e.src],
             graph.resolutions[e.src])).macs
        for e in graph.terminal_edges
    }
    for largest, choices in ((True, mutator.max_choices),
                             (False, mutator.min_choices)):
        pick = max if largest else min
        for alias, op in ops.items():
            assert choices[alias] == op.choices[flops[alias].index(
                pick(flops[alias]))]
            assert choices[alias] == (op.max_choice if largest else
                                      op.min_choice)

        def total(path):
            cost = terminal[path[-2]]
            for alias in path_mutables(space, graph, path):
                cost += pick(flops[alias])
            return cost

        paths = list(all_paths(graph))
        assert len(paths) == 44
        best = pick(paths, key=total)
        assert _walk(graph, choices) == best
        # ties would make the check weak: the extreme is strict here
        assert sorted(map(total, paths), reverse=largest)[1] != total(best)
    assert all(v == 'skip_connect' for a, v in mutator.min_choices.items()
               if '_layer' in a)


def test_max_choices_give_the_largest_net_by_the_counter():
    """The nets themselves: DenseNASNet of the max (min) choices has the
    most (fewest) mult-adds of the per-path extremes of a small space."""
    space = SearchSpace.from_config(TINY)
    _, mutator = build_pair(space)
    graph = mutator.graph

    def net_macs(choices, path):
        idx = {
            a: (space.head_ops if '_head_' in a else space.stack_ops).index(
                choices[a])
            for a in path_mutables(space, graph, path)
        }
        arch = path_arch(space, graph, path, idx)
        return count_complexity(DenseNASNet(arch),
                                (1, 3, space.input_size,
                                 space.input_size)).macs

    for choices, pick in ((mutator.max_choices, max),
                          (mutator.min_choices, min)):
        per_path = {tuple(p): net_macs(choices, p) for p in all_paths(graph)}
        assert len(per_path) == 3
        assert tuple(_walk(graph, choices)) == pick(per_path,
                                                    key=per_path.get)


def test_set_max_min_choices_without_warnings(demo_pair):
    model, mutator = demo_pair
    x = torch.randn(1, 3, 32, 32)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        mutator.set_max_choices()
        assert mutator.current_choices == mutator.max_choices
        assert model(x, mode='tensor').shape == (1, 10)
        mutator.set_min_choices()
        assert mutator.current_choices == mutator.min_choices
        assert model(x, mode='tensor').shape == (1, 10)


def test_mutable_methods():
    op = DenseNASMixedOp(['mbconv_k3_t3', 'mbconv_k7_t6', 'skip_connect'],
                         8, 8, alias='b01_layer0', input_size=8)
    assert op.mutable_prefix == 'module' and op.num_choices == 3
    flops = op.candidate_flops()
    assert flops[2] == 0 and flops[1] > flops[0] > 0
    assert (op.max_choice, op.min_choice) == ('mbconv_k7_t6', 'skip_connect')
    assert op.sample_choice(torch.tensor([0.1, 2.0, -1.0])) == 'mbconv_k7_t6'
    torch.manual_seed(0)
    drawn = {op.sample_choice() for _ in range(40)}
    assert drawn == set(op.choices)
    op.current_choice = ['mbconv_k3_t3', 'skip_connect']
    assert op.active == [0, 2]
    op.current_choice = 'skip_connect'
    x = torch.randn(1, 8, 8, 8)
    assert torch.equal(op(x, arch_param=torch.zeros(3)), x)
    assert op.dump_chosen().chosen == 'skip_connect'
    op.current_choice = None
    with pytest.raises(RuntimeError, match='call mutator.derive'):
        op.dump_chosen()
    op.fix_chosen('mbconv_k3_t3')
    assert op.current_choice == 'mbconv_k3_t3'
    op.current_choice = 'mbconv_k3_t3'  # the fixed choice: fine
    with pytest.raises(ValueError, match='is fixed to'):
        op.current_choice = 'skip_connect'
    with pytest.raises(RuntimeError, match='without input_size'):
        _ = DenseNASMixedOp(['mbconv_k3_t3'], 8, 8, alias='b01_layer0'
                            ).max_choice

    route = DenseNASRoute(['to02', 'to03'], alias='route01')
    assert route.current_choice is None and route.active_targets() == [0, 1]
    route.current_choice = 'to03'
    assert route.active_targets() == [1] and route.dump_chosen().chosen == \
        'to03'
    assert route.sample_choice(torch.tensor([2.0, 0.0])) == 'to02'
    with pytest.raises(NotImplementedError,
                       match='DenseRoutingMutator.max_choices'):
        _ = route.max_choice
    with pytest.raises(NotImplementedError,
                       match='DenseRoutingMutator.min_choices'):
        _ = route.min_choice
    route.current_choice = None
    with pytest.raises(RuntimeError, match='no target chosen'):
        route.dump_chosen()


def test_extreme_choices_of_the_demo_space(demo_pair):
    """The costliest demo net runs through all 6 blocks; the cheapest keeps
    no stacking layer and skips blocks."""
    _, mutator = demo_pair
    big, small = mutator.max_choices, mutator.min_choices
    graph = mutator.graph
    assert len(big) == len(small) == len(mutator.search_groups) == 23
    assert _walk(graph, big) == list(graph.nodes)
    assert all(v != 'skip_connect' for a, v in big.items() if '_layer' in a)
    small_path = _walk(graph, small)
    assert graph.is_path(small_path) and len(small_path) < len(graph.nodes)
    assert all(v == 'skip_connect' for a, v in small.items() if '_layer' in a)
    assert all(v == 'mbconv_k3_t3' for a, v in small.items()
               if '_head_' in a)
