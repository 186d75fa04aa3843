"""The dense-routing mutator: sampling, re-balancing, derivation."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmrazor.structures import load_fix_subnet

from densenas_mm.models.backbones import DenseNASSupernet
from densenas_mm.search_space import SearchSpace, load_preset
from densenas_mm.search_space.naming import (head_alias, layer_alias,
                                             route_alias)
from densenas_mm.structures import DerivedArch
from helpers.builders import WIDER, build_pair


def _all_paths(graph):
    paths = []

    def walk(node, acc):
        if node == graph.terminal:
            paths.append(acc)
        for nxt in graph.outgoing[node]:
            walk(nxt, acc + [nxt])

    walk(0, [0])
    return paths


def test_counts_of_arch_params():
    _, mutator = build_pair(load_preset('densenas_mbv2_32'))
    assert len(mutator.alphas()) == 51 + 39
    assert all(p.numel() == 6 for k, p in mutator.alphas().items()
               if '_head_' in k)
    assert all(p.numel() == 7 for k, p in mutator.alphas().items()
               if '_layer' in k)
    # routes with a single target carry no beta: node 0 and node 16
    assert len(mutator.betas()) == 17 - 2
    assert sum(p.numel() for p in mutator.betas().values()) == 54 - 2
    assert all(p.abs().max() < 0.01 for p in mutator.arch_params.values())


@pytest.mark.parametrize('seed', range(6))
def test_viterbi_equals_brute_force(seed):
    torch.manual_seed(seed)
    _, mutator = build_pair(SearchSpace.from_config(WIDER))
    for beta in mutator.betas().values():
        beta.data = torch.randn_like(beta) * 2
    graph = mutator.graph
    probs = {
        i: F.softmax(mutator.arch_params[route_alias(i)], 0)
        if route_alias(i) in mutator.arch_params else torch.ones(1)
        for i in graph.nodes if graph.outgoing[i]
    }

    def score(path):
        return math.prod(
            float(probs[a][graph.edge(a, b).out_index])
            for a, b in zip(path, path[1:]))

    paths = _all_paths(graph)
    assert len(paths) == graph.num_paths() > 10
    best = max(paths, key=score)
    assert mutator.derive_path() == best


def test_rebalance_keeps_unsampled_mass():
    torch.manual_seed(0)
    _, mutator = build_pair(load_preset('densenas_demo_32'))
    for p in mutator.alphas().values():
        p.data = torch.randn_like(p)
    mutator.set_sampling('pair', torch.Generator().manual_seed(1),
                         arch_grad=True)
    before = {k: F.softmax(v.detach(), 0) for k, v in mutator.alphas().items()}
    snapshot = mutator.alpha_snapshot()
    optim = torch.optim.Adam(mutator.parameters(), lr=0.5)
    # as in an arch step, only the sampled entries receive gradient
    loss = sum((p[mutator._ops[a].active] * torch.tensor([1.0, -2.0])).sum()
               for a, p in mutator.alphas().items())
    loss.backward()
    optim.step()
    moved = 0
    for alias, alpha in mutator.alphas().items():
        idx = mutator._ops[alias].active
        rest = [i for i in range(alpha.numel()) if i not in idx]
        unsampled_before = before[alias][rest].sum()
        unsampled_unbalanced = F.softmax(alpha.detach(), 0)[rest].sum()
        moved += abs(float(unsampled_unbalanced - unsampled_before)) > 1e-3
    assert moved > 0  # without re-balancing the mass would shift
    mutator.rebalance(snapshot)
    for alias, alpha in mutator.alphas().items():
        idx = mutator._ops[alias].active
        rest = [i for i in range(alpha.numel()) if i not in idx]
        after = F.softmax(alpha.detach(), 0)
        assert abs(float(after[rest].sum() - before[alias][rest].sum())) < 1e-6


def test_sampling_frequencies_follow_softmax():
    _, mutator = build_pair(load_preset('densenas_demo_32'))
    alias = head_alias(3, 1)
    alpha = torch.tensor([1.0, 0.0, -1.0])
    mutator.arch_params[alias].data = alpha.clone()
    probs = F.softmax(alpha, 0)
    gen = torch.Generator().manual_seed(0)
    n = 1500
    counts = torch.zeros(3)
    firsts = torch.zeros(3)
    for _ in range(n):
        mutator.set_sampling('sample', gen)
        counts[mutator._ops[alias].active[0]] += 1
    for _ in range(n):
        mutator.set_sampling('pair', gen)
        pair = mutator._ops[alias].active
        assert len(set(pair)) == 2
        firsts[pair[0]] += 1
    for freq in (counts / n, firsts / n):
        sigma = (probs * (1 - probs) / n).sqrt()
        assert ((freq - probs).abs() < 4 * sigma).all(), (freq, probs)
    counts.zero_()
    for _ in range(n):
        mutator.set_sampling('uniform', gen)
        counts[mutator._ops[alias].active[0]] += 1
    assert ((counts / n - 1 / 3).abs() < 4 * math.sqrt(2 / 9 / n)).all()


def test_same_seed_same_ops():
    _, mutator = build_pair(load_preset('densenas_demo_32'))
    picks = []
    for _ in range(2):
        mutator.set_sampling('pair', torch.Generator().manual_seed(42))
        picks.append({k: m.active for k, m in mutator._ops.items()})
    assert picks[0] == picks[1]


def test_ops_in_play_is_what_sampling_put_in_play():
    _, mutator = build_pair(load_preset('densenas_demo_32'))
    alias = head_alias(3, 1)
    assert mutator.ops_in_play(alias) == [0, 1, 2]  # nothing set: all
    mutator.set_sampling('sample', torch.Generator().manual_seed(0))
    [one] = mutator.ops_in_play(alias)
    assert 0 <= one < 3
    mutator.set_sampling('pair', torch.Generator().manual_seed(0))
    pair = mutator.ops_in_play(alias)
    assert len(pair) == 2 and len(set(pair)) == 2
    assert mutator.ops_in_play(alias) == pair  # a query: nothing changes
    idx, weights = mutator.op_distribution(alias)
    assert list(idx) == pair and weights.shape == (2, )
    with pytest.raises(KeyError, match='no mixed op'):
        mutator.ops_in_play('no_such_alias')


@pytest.mark.parametrize('preset', ['densenas_mbv2_32', 'densenas_resnet_32'])
def test_forward_backward_both_presets(preset):
    torch.manual_seed(0)
    space = load_preset(preset)
    model, mutator = build_pair(space)
    x = torch.randn(2, 3, 32, 32)
    mutator.set_sampling('uniform', torch.Generator().manual_seed(0))
    out = model(x, mode='tensor')
    assert out.shape == (2, space.num_classes)
    out.sum().backward()
    assert all(p.grad is None for p in mutator.arch_params.values())
    assert model.backbone.stem[0][0].weight.grad.abs().sum() > 0


def test_gradients_reach_sampled_ops_only_then_arch_params(demo_pair):
    model, mutator = demo_pair
    x = torch.randn(4, 3, 32, 32)
    mutator.set_sampling('sample', torch.Generator().manual_seed(3))
    model(x, mode='tensor').logsumexp(1).sum().backward()
    for alias, op in model.backbone.mixed_ops().items():
        active = {op.choices[i] for i in op.active}
        for name, cand in op._candidates.items():
            grads = [p.grad for p in cand.parameters()]
            if name in active and grads:
                assert all(g is not None and g.abs().sum() > 0 for g in grads)
            else:
                assert all(g is None for g in grads), (alias, name)
    assert all(p.grad is None for p in mutator.arch_params.values())
    model.zero_grad()
    mutator.set_sampling('pair', torch.Generator().manual_seed(3),
                         arch_grad=True)
    model(x, mode='tensor').logsumexp(1).sum().backward()
    for alias, p in mutator.arch_params.items():
        assert p.grad is not None and p.grad.abs().sum() > 0, alias
        if alias in mutator.alphas():
            idx = mutator._ops[alias].active
            rest = [i for i in range(p.numel()) if i not in idx]
            assert (p.grad[rest] == 0).all()


@pytest.mark.parametrize('seed', range(4))
def test_derive_from_any_state_is_valid_and_loads(seed):
    torch.manual_seed(seed)
    space = SearchSpace.from_config(WIDER)
    model, mutator = build_pair(space)
    for p in mutator.arch_params.values():
        p.data = torch.randn_like(p) * 3
    arch = mutator.derive()
    graph = mutator.graph
    assert graph.is_path(arch.path)
    assert [b.node for b in arch.blocks] == arch.path[1:-1]
    params = mutator.arch_params

    def argmax(alias, choices):
        return choices[int(params[alias].argmax())] if alias in params \
            else choices[0]

    for b in arch.blocks:
        for name, layer in zip(b.stack_ops, b.layer_ids):
            assert name == argmax(layer_alias(b.node, layer), space.stack_ops)
        assert b.head_op == argmax(head_alias(b.node, b.src), space.head_ops)
    again = DerivedArch.from_dict(arch.to_dict())
    assert again.to_net_config() == arch.to_net_config()
    # the same file fixes a fresh supernet through mmrazor's loader
    fresh = DenseNASSupernet(space)
    load_fix_subnet(fresh, arch.to_dict())
    assert all(m.is_fixed for m in fresh.mixed_ops().values())
    called = []
    for name, block in fresh.blocks.items():
        block.register_forward_hook(lambda *a, n=name: called.append(n))
        for head in block.heads.values():
            head.register_forward_hook(lambda *a, n=name: called.append(n))
    out = fresh(torch.randn(1, 3, 32, 32))[0]
    assert out.shape == (1, 32, 4, 4)
    expected = {f'b{n:02d}' for n in arch.path[1:-1]}
    assert set(called) == expected


def test_skip_ops_dropped_in_derivation(demo_pair):
    _, mutator = demo_pair
    for alias, p in mutator.alphas().items():
        if '_layer' in alias:
            p.data = torch.tensor([0.0, 0.0, 5.0])  # skip wins
    arch = mutator.derive()
    assert all(b.stack_ops == [] for b in arch.blocks)
    assert all(v == 'skip_connect' for k, v in arch.fix_subnet.items()
               if '_layer' in k)


def test_bad_arch_does_not_fit_supernet():
    space = SearchSpace.from_config(WIDER)
    fresh = DenseNASSupernet(space)
    _, mutator = build_pair(space)
    bad = mutator.derive().to_dict()
    bad[head_alias(1, 0)] = dict(chosen='mbconv_k7_t6')
    with pytest.raises(ValueError, match='does not fit this supernet'):
        load_fix_subnet(fresh, bad)


def test_entropy_of_init_is_near_max(demo_pair):
    _, mutator = demo_pair
    ent, top = mutator.entropy(), mutator.max_entropy()
    for key in ent:
        assert top[key] - 1e-4 < ent[key] <= top[key] + 1e-9
