"""Budget-constrained derivation (issue 23): exact against brute force.

Small spaces are enumerated completely (every path x every op choice on
it); the dynamic programme must return the same optimum (objective and cost)
for many budgets, never exceed a budget, equal the unconstrained maximum
without a budget, and its front must be the brute-force Pareto set. Costs
are the estimator's (FLOPs) and random per-candidate costs (no ties).
"""
import math

import pytest
import torch
from helpers.brute_force import (brute_force, brute_front, random_costs,
                                 random_params, small_spaces)

from densenas_mm.models.estimators import ChainedLatencyEstimator
from densenas_mm.models.estimators.budget_derivation import (
    BudgetError, arch_logp, best_under, pareto_front, point_arch, prune,
    window_best)
from densenas_mm.search_space import SearchSpace, SpaceGraph, load_preset
from densenas_mm.search_space.naming import head_alias, layer_alias
from densenas_mm.structures import derive_arch


def flops_costs(space: SearchSpace):
    return ChainedLatencyEstimator(metric='flops').space_costs(space)


def enumerated_case(space_index: int, seed: int, random_cost: bool):
    """A small space, its graph, random alpha / beta, costs (FLOPs or
    random) and every net of it (brute force)."""
    space = small_spaces()[space_index]
    graph = SpaceGraph(space)
    params = random_params(space, graph, seed)
    costs = flops_costs(space)
    if random_cost:
        costs = random_costs(costs, seed)
    return space, graph, params, costs, brute_force(costs, space, graph,
                                                    params)


CASES = [(s, seed, rnd) for s in (0, 1) for seed in (0, 1)
         for rnd in (False, True)]


@pytest.mark.parametrize('space_index,seed,random_cost', CASES)
def test_equals_brute_force(space_index, seed, random_cost):
    space, graph, params, costs, nets = enumerated_case(
        space_index, seed, random_cost)
    front = pareto_front(costs, space, params, graph)
    expected = sorted(brute_front(nets), key=lambda n: n[0])
    # the front is the brute-force Pareto set (as (cost, logp) pairs; with
    # the FLOPs of two nets equal only one of them is kept)
    assert len(front) == len({(round(n[0], 9), round(n[1], 9))
                              for n in expected})
    for point, net in zip(front, expected):
        assert point.cost == net[0]
        assert point.logp == pytest.approx(net[1], rel=1e-12, abs=1e-12)
    lo, hi = min(n[0] for n in nets), max(n[0] for n in nets)
    budgets = [lo + (hi - lo) * t / 40 for t in range(41)]
    budgets += [p.cost for p in front] + [math.inf]
    for budget in budgets:
        fits = [n for n in nets if n[0] <= budget]
        best = max(fits, key=lambda n: n[1])
        got = best_under(front, budget)
        assert got.cost <= budget
        assert got.logp == pytest.approx(best[1], rel=1e-12, abs=1e-12)
        # the same net as brute force (no ties with random costs / params)
        same = [n for n in fits if abs(n[1] - got.logp) < 1e-9]
        assert any(n[0] == got.cost for n in same)
    unbounded = best_under(front, math.inf)
    assert unbounded.logp == pytest.approx(
        max(n[1] for n in nets), rel=1e-12, abs=1e-12)
    assert front[-1] is not None and unbounded == front[-1]
    with pytest.raises(BudgetError, match=f'{lo:.6g}'):
        best_under(front, lo * 0.999)


@pytest.mark.parametrize('preset', ['densenas_demo_32', 'densenas_mbv2_224'])
def test_costs_equal_path_cost(preset):
    """Every front net's DP cost is the estimator's ``path_cost`` (FLOPs;
    the latency table's in test_budget_tool), its logp the objective."""
    space = load_preset(preset)
    graph = SpaceGraph(space)
    params = random_params(space, graph, 3)
    est = ChainedLatencyEstimator(metric='flops')
    front = pareto_front(est.space_costs(space), space, params, graph)
    assert len(front) > 3
    costs = [p.cost for p in front]
    logps = [p.logp for p in front]
    assert costs == sorted(costs) and logps == sorted(logps)
    for point in front:
        arch = point_arch(space, graph, params, point)
        assert arch.path == list(point.path)
        assert est.path_cost(arch, space) == pytest.approx(point.cost,
                                                              rel=1e-9)
        assert arch_logp(space, graph, params, arch) == pytest.approx(
            point.logp, abs=1e-9)


def test_unbounded_beats_todays_derivation():
    """The joint optimum is at least as probable as Viterbi + argmax."""
    space = small_spaces()[1]
    graph = SpaceGraph(space)
    for seed in range(5):
        params = random_params(space, graph, seed)
        front = pareto_front(flops_costs(space), space, params, graph)
        today = derive_arch(space, graph, params)
        assert best_under(front, math.inf).logp >= arch_logp(
            space, graph, params, today) - 1e-12


def test_resolution_rounds_up():
    """A coarse resolution shrinks the front; no net exceeds its budget
    and every net keeps its exact cost."""
    space = small_spaces()[1]
    graph = SpaceGraph(space)
    params = random_params(space, graph, 4)
    costs = random_costs(flops_costs(space), 4)
    exact = pareto_front(costs, space, params, graph)
    coarse = pareto_front(costs, space, params, graph, resolution=1.0)
    assert 0 < len(coarse) < len(exact)
    nets = {(round(n[0], 9), round(n[1], 9))
            for n in brute_force(costs, space, graph, params)}
    assert {(round(p.cost, 9), round(p.logp, 9)) for p in coarse} <= nets
    for budget in [p.cost for p in exact]:
        try:
            got = best_under(coarse, budget)
        except BudgetError:
            continue
        assert got.cost <= budget
        assert got.logp <= best_under(exact, budget).logp + 1e-12
    with pytest.raises(ValueError, match='resolution'):
        pareto_front(costs, space, params, graph, resolution=0)


def test_prune_keeps_the_non_dominated():
    pairs = [(1.0, -3.0, 'a'), (1.0, -2.0, 'b'), (2.0, -2.0, 'c'),
             (3.0, -1.0, 'd'), (0.5, -5.0, 'e'), (2.5, -4.0, 'f')]
    assert [p[2] for p in prune(pairs)] == ['e', 'b', 'd']
    assert [p[2] for p in prune(pairs, resolution=2.0)] == ['b', 'd']


def test_params_must_fit_the_space():
    space = load_preset('densenas_demo_32')
    graph = SpaceGraph(space)
    params = random_params(space, graph, 0)
    params[head_alias(2, 1)] = torch.zeros(7)
    with pytest.raises(ValueError, match='7 entries'):
        pareto_front(flops_costs(space), space, params, graph)
    params = random_params(space, graph, 0)
    del params[layer_alias(1, 0)]
    with pytest.raises(ValueError, match='no parameter for'):
        pareto_front(flops_costs(space), space, params, graph)


def test_calibrated_costs_equal_calibrated_path_cost():
    """With a calibrated latency table (scale, per-op overhead, constant on
    the stem) every front net's DP cost is the calibrated ``path_cost``,
    which for a calibrated table equals the calibrated whole-net
    ``estimate`` (skips cost 0)."""
    from densenas_mm.latency import LatencyTable
    from densenas_mm.latency.calibration import Calibration
    from helpers.estimators import DEMO, synthetic_table

    space = SearchSpace.from_config(DEMO)
    graph = SpaceGraph(space)
    raw = synthetic_table(space)
    cal = Calibration(scale=1.3, per_op=0.07, constant=0.4)
    table = LatencyTable(raw.metadata, raw.entries, calibration=cal)
    est = ChainedLatencyEstimator(lut=table, target_device=None, space=space)
    plain = ChainedLatencyEstimator(lut=raw, target_device=None, space=space)
    params = random_params(space, graph, 5)
    front = pareto_front(est.space_costs(space), space, params, graph)
    raw_front = pareto_front(plain.space_costs(space), space, params, graph)
    assert len(front) > 3
    assert front[0].cost > raw_front[0].cost  # the overheads are in
    for point in front:
        arch = point_arch(space, graph, params, point)
        want = pytest.approx(point.cost, rel=1e-9)
        assert est.path_cost(arch, space) == want
        assert est.estimate(arch)['latency'] == want


@pytest.mark.parametrize('space_index,seed,random_cost', CASES)
def test_window_best_equals_brute_force(space_index, seed, random_cost):
    """The most probable net with cost in [low, high]: with a fine cell
    (no two partial nets share one) the brute-force optimum of the window,
    and never a net outside it; None for an empty window."""
    space, graph, params, costs, nets = enumerated_case(
        space_index, seed, random_cost)
    lo, hi = min(n[0] for n in nets), max(n[0] for n in nets)
    front = pareto_front(costs, space, params, graph)
    checked = 0
    for t in range(1, 21):
        high = lo + (hi - lo) * t / 20
        low = high * 0.9
        inside = [n for n in nets if low <= n[0] <= high]
        got = window_best(costs, space, params, low, high, graph,
                          resolution=(hi - lo) * 1e-7)
        if not inside:
            assert got is None
            continue
        checked += 1
        best = max(inside, key=lambda n: n[1])
        assert low <= got.cost <= high
        assert got.logp == pytest.approx(best[1], rel=1e-12, abs=1e-12)
        # its logp is the objective of the net it names
        arch = point_arch(space, graph, params, got)
        assert arch_logp(space, graph, params, arch) == pytest.approx(
            got.logp, rel=1e-12, abs=1e-12)
        # the most probable net under the budget, when it lies in the
        # window, is the window's optimum too
        under = best_under(front, high)
        if under.cost >= low:
            assert got.logp == pytest.approx(under.logp, abs=1e-12)
    assert checked >= 10
    with pytest.raises(ValueError, match='low <= high'):
        window_best(costs, space, params, 2.0, 1.0, graph)


def test_window_best_reaches_into_the_window_on_the_demo_space():
    """On the demo space with random alphas / betas the default cell
    (a hundredth of the window) returns a net in every non-empty window,
    costing at least the window's low end, where the most probable net
    under the budget can lie far below it."""
    space = load_preset('densenas_demo_32')
    graph = SpaceGraph(space)
    params = random_params(space, graph, 5)
    costs = flops_costs(space)
    front = pareto_front(costs, space, params, graph)
    lo, hi = front[0].cost, front[-1].cost
    below = 0
    for t in (0.3, 0.5, 0.7, 0.9):
        high = lo + (hi - lo) * t
        got = window_best(costs, space, params, 0.95 * high, high, graph)
        assert got is not None and 0.95 * high <= got.cost <= high
        below += best_under(front, high).cost < 0.95 * high
    assert below >= 1  # the case the window exists for
