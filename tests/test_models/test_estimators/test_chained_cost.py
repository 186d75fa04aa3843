"""The chained expected cost against exact enumeration, one-hot sums and
finite differences."""
import math

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.latency import arch_parts
from densenas_mm.models.estimators import (chained_expected_cost,
                                           chained_node_costs,
                                           expected_cost_from, space_costs)
from densenas_mm.models.estimators.chained_cost import (path_choices,
                                                        path_cost)
from densenas_mm.structures import DerivedArch
from densenas_mm.search_space import SearchSpace, SpaceGraph
from helpers.estimators import (DEMO, TINY, FakeMutator, argmax_arch,
                               exact_expectation, hashed_cost, path_arch,
                               path_mutables, random_params, subset_of)

T = torch.tensor


def test_pure_recursion_by_hand():
    outgoing = {0: [1, 2], 1: [2, 3], 2: [3]}
    probs = {0: T([0.3, 0.7]), 1: T([0.4, 0.6]), 2: T([1.0])}
    head = {
        (1, 0): T(1.),
        (2, 0): T(2.),
        (2, 1): T(3.),
        (3, 1): T(0.5),
        (3, 2): T(0.25)
    }
    stack = {1: T(10.), 2: T(20.)}
    node = chained_node_costs(outgoing, 3, probs, head, stack)
    assert float(node[2]) == pytest.approx(20.25)
    assert float(node[1]) == pytest.approx(19.6)
    assert float(node[0]) == pytest.approx(21.755)
    # The three paths: 0-1-2-3, 0-1-3, 0-2-3.
    by_paths = 0.12 * 34.25 + 0.18 * 11.5 + 0.7 * 22.25
    total = chained_expected_cost(outgoing, 3, probs, head, stack, T(100.),
                                  T(1000.))
    assert float(total) == pytest.approx(1100 + by_paths)


def test_pure_recursion_rejects_wrong_prob_length():
    with pytest.raises(ValueError, match='route probabilities'):
        chained_node_costs({0: [1, 2]}, 2, {0: T([1.0])}, {}, {})


@pytest.mark.parametrize('cfg,pairs', [(TINY, False), (TINY, True),
                                       (DEMO, True)])
def test_equals_exact_enumeration(cfg, pairs):
    space = SearchSpace.from_config(cfg)
    alphas, betas = random_params(space, seed=3)
    subsets = ({
        a: subset_of(a, v.numel(), 1)
        for a, v in alphas.items()
    } if pairs else None)
    mut = FakeMutator(space, alphas, betas, subsets)
    got = expected_cost_from(
        space_costs(space, hashed_cost), mut.op_distribution, mut.route_probs)
    assert got.dtype == torch.float64
    assert float(got) == pytest.approx(
        exact_expectation(space, mut), rel=1e-12)


@pytest.mark.parametrize('cfg', [TINY, DEMO])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_onehot_equals_sum_along_path(cfg, seed):
    space = SearchSpace.from_config(cfg)
    graph = SpaceGraph(space)
    alphas, betas = random_params(space, seed=seed)
    mut = FakeMutator(space, alphas, betas, onehot=True)
    path, choice, arch = argmax_arch(space, graph, alphas, betas)
    plain = sum(hashed_cost(s) for _, sigs in arch_parts(arch) for s in sigs)
    got = expected_cost_from(
        space_costs(space, hashed_cost), mut.op_distribution, mut.route_probs)
    assert float(got) == pytest.approx(plain, rel=1e-12)


@pytest.mark.parametrize('pairs', [False, True])
def test_gradients_match_finite_differences(pairs):
    space = SearchSpace.from_config(DEMO)
    costs = space_costs(space, hashed_cost, skip_reg=True)
    alphas, betas = random_params(space, seed=5)
    a_keys, b_keys = list(alphas), list(betas)
    a_sizes = [alphas[k].numel() for k in a_keys]
    b_sizes = [betas[k].numel() for k in b_keys]
    subsets = ({
        a: subset_of(a, n, 2)
        for a, n in zip(a_keys, a_sizes)
    } if pairs else None)

    def cost(a_flat, b_flat):
        a = dict(zip(a_keys, torch.split(a_flat, a_sizes)))
        b = dict(zip(b_keys, torch.split(b_flat, b_sizes)))
        mut = FakeMutator(space, a, b, subsets)
        return expected_cost_from(costs, mut.op_distribution, mut.route_probs)

    a_flat = torch.cat([alphas[k] for k in a_keys]).requires_grad_()
    b_flat = torch.cat([betas[k] for k in b_keys]).requires_grad_()
    assert torch.autograd.gradcheck(cost, (a_flat, b_flat))
    grad_a, grad_b = torch.autograd.grad(
        cost(a_flat, b_flat), (a_flat, b_flat))
    assert grad_a.abs().sum() > 0 and grad_b.abs().sum() > 0


def test_skip_reg_costs_first_candidate_over_ten():
    space = SearchSpace.from_config(DEMO)
    plain = space_costs(space, hashed_cost)
    reg = space_costs(space, hashed_cost, skip_reg=True)
    skip = space.stack_ops.index('skip_connect')
    for alias, row in reg.stacks.items():
        assert plain.stacks[alias][skip] == 0.0
        assert row[skip] == pytest.approx(row[0] / 10)
        assert row[:skip] == plain.stacks[alias][:skip]


def _with_skip_cost(sig) -> float:
    """hashed_cost, and 0.004 for skip (a table with measured skips)."""
    return 0.004 if sig.is_skip else hashed_cost(sig)


def test_measured_skip_cost_is_kept_unless_skip_reg():
    space = SearchSpace.from_config(DEMO)
    skip = space.stack_ops.index('skip_connect')
    kept = space_costs(space, _with_skip_cost)
    reg = space_costs(space, _with_skip_cost, skip_reg=True)
    for alias, row in kept.stacks.items():
        assert row[skip] == 0.004
        assert reg.stacks[alias][skip] == pytest.approx(row[0] / 10)


@pytest.mark.parametrize('seed', range(3))
def test_path_cost_is_the_onehot_chained_cost(seed):
    """path_cost of a derived path = the chained cost with one-hot alpha
    and beta on it = the sum of its ops plus its skipped layers' skip
    cost."""
    space = SearchSpace.from_config(TINY)
    graph = SpaceGraph(space)
    alphas, betas = random_params(space, seed=seed, scale=3.0)
    mut = FakeMutator(space, alphas, betas, onehot=True)
    path, choice, arch = argmax_arch(space, graph, alphas, betas)
    costs = space_costs(space, _with_skip_cost)
    onehot = expected_cost_from(costs, mut.op_distribution, mut.route_probs)
    assert float(path_cost(costs, space, graph, arch)) == pytest.approx(
        float(onehot), rel=1e-12)
    skipped = sum(
        1 for a in path_mutables(space, graph, path)
        if '_layer' in a and space.stack_ops[choice[a]] == 'skip_connect')
    ops = sum(_with_skip_cost(s) for _, sigs in arch_parts(arch)
              for s in sigs)
    assert float(onehot) == pytest.approx(ops + 0.004 * skipped, rel=1e-9)


def test_path_choices_of_a_net_config_and_misfits():
    space = SearchSpace.from_config(TINY)
    graph = SpaceGraph(space)
    # TINY: nodes 1, 2, 3 of widths 6, 8, 10 with 1, 2, 0 stacking layers
    text = ("[[4, 4], 'mbconv_k3_t1', [], 0, 1]|"
            "[[4, 6], 'mbconv_k3_t3', [], 0, 1]|"
            "[[6, 8], 'mbconv_k5_t6', ['mbconv_k3_t6'], 1, 2]|"
            "[[8, 10], 'mbconv_k3_t3', [], 0, 1]|[[10, 16], 'conv1_1']")
    arch = DerivedArch.from_net_config(text, num_classes=5)
    path, choice = path_choices(space, graph, arch)
    assert path == [0, 1, 2, 3, 4]
    skip = space.stack_ops.index('skip_connect')
    assert choice['b01_layer0'] == skip
    # the kept op in the first layer, skip in the second
    assert choice['b02_layer0'] == space.stack_ops.index('mbconv_k3_t6')
    assert choice['b02_layer1'] == skip
    assert choice['b02_head_from01'] == space.head_ops.index('mbconv_k5_t6')
    too_many = text.replace(
        "['mbconv_k3_t6'], 1",
        "['mbconv_k3_t6', 'mbconv_k3_t3', 'mbconv_k3_t3'], 3")
    with pytest.raises(ValueError, match='3 stacking ops do not fit'):
        path_choices(space, graph,
                     DerivedArch.from_net_config(too_many, num_classes=5))
    no_edge = text.replace("[[4, 6], 'mbconv_k3_t3', [], 0, 1]|", '')
    no_edge = no_edge.replace('[[6, 8]', '[[4, 8]')
    with pytest.raises(ValueError, match='no edge 0 -> 2'):
        path_choices(space, graph,
                     DerivedArch.from_net_config(no_edge, num_classes=5))
    wrong_op = text.replace("[[4, 6], 'mbconv_k3_t3'",
                            "[[4, 6], 'mbconv_k7_t6'")
    with pytest.raises(ValueError, match="head op 'mbconv_k7_t6' is not"):
        path_choices(space, graph,
                     DerivedArch.from_net_config(wrong_op, num_classes=5))


def test_cost_tensors_are_cached_per_device_and_dtype():
    costs = space_costs(SearchSpace.from_config(TINY), hashed_cost)
    one = costs.tensors(torch.device('cpu'), torch.float32)
    assert costs.tensors(torch.device('cpu'), torch.float32) is one
    two = costs.tensors(torch.device('cpu'), torch.float64)
    assert two is not one and two['@stem'].dtype == torch.float64
    assert math.isclose(float(two['@stem']), costs.stem)
