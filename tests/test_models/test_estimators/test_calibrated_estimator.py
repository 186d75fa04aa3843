"""A calibrated table in the estimator: the chained expected cost against
full enumeration of calibrated whole-net costs, path_cost = estimate, the
budget loss, calibrated=False."""
import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.latency import LatencyTable, arch_parts, space_ops
from densenas_mm.latency.calibration import Calibration
from densenas_mm.models.estimators import ChainedLatencyEstimator
from densenas_mm.registry import MODELS
from densenas_mm.search_space import SearchSpace, SpaceGraph
from helpers.estimators import (DEMO, TINY, FakeMutator, argmax_arch,
                                exact_expectation, hashed_cost,
                                random_params, subset_of, synthetic_table)

CAL = Calibration(scale=1.25, per_op=0.05, constant=0.3)


def calibrated_table(space, skip_ms=None):
    table = synthetic_table(space)
    if skip_ms is not None:  # a table that measured skip (as imported ones)
        for sigs in space_ops(space).stacks.values():
            for sig in sigs:
                if sig.is_skip:
                    table.add(sig, skip_ms, 0.0, 1)
    return LatencyTable(table.metadata, table.entries, calibration=CAL)


def calibrated_net(arch) -> float:
    """What the calibration says of a whole net: scale x LUT sum + per_op x
    kept ops + constant."""
    sigs = [s for _, part in arch_parts(arch) for s in part]
    return CAL.net_cost(sum(hashed_cost(s) for s in sigs), len(sigs))


def estimator(space, table, **kw):
    return ChainedLatencyEstimator(lut=table, target_device=None, space=space,
                                   **kw)


@pytest.mark.parametrize('cfg,pairs', [(TINY, False), (TINY, True),
                                       (DEMO, True)])
def test_calibrated_expected_cost_equals_enumeration(cfg, pairs):
    space = SearchSpace.from_config(cfg)
    alphas, betas = random_params(space, seed=5)
    subsets = ({a: subset_of(a, v.numel(), 2)
                for a, v in alphas.items()} if pairs else None)
    mut = FakeMutator(space, alphas, betas, subsets)
    est = estimator(space, calibrated_table(space, skip_ms=0.004))
    got = est.expected_cost(mut)
    assert float(got) == pytest.approx(
        exact_expectation(space, mut, calibrated_net), rel=1e-12)
    # uncalibrated, the same table gives the plain per-op sums (skip at its
    # measured entry: so compare with a table without skip entries)
    raw = estimator(space, calibrated_table(space), calibrated=False)
    assert float(raw.expected_cost(mut)) == pytest.approx(
        exact_expectation(space, mut), rel=1e-12)


def test_calibrated_cost_is_differentiable():
    space = SearchSpace.from_config(TINY)
    alphas, betas = random_params(space, seed=1)
    for p in list(alphas.values()) + list(betas.values()):
        p.requires_grad_(True)
    mut = FakeMutator(space, alphas, betas)
    est = estimator(space, calibrated_table(space))
    cost = est.expected_cost(mut)
    cost.backward()
    grads = [p.grad for p in list(alphas.values()) + list(betas.values())]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    # a budget loss on it: positive above the budget, with a gradient
    loss = MODELS.build(
        dict(type='densenas_mm.LatencyLoss', target=float(cost.detach()) / 2))
    assert float(loss(est.expected_cost(mut))) > 0


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_path_cost_equals_calibrated_estimate(seed):
    """Skip costs 0 when calibrated (the fitted nets drop it), so the
    search's path cost is the calibrated latency of the derived net, even
    for a table with skip entries."""
    space = SearchSpace.from_config(TINY)
    graph = SpaceGraph(space)
    alphas, betas = random_params(space, seed=seed, scale=3.0)
    _, _, arch = argmax_arch(space, graph, alphas, betas)
    est = estimator(space, calibrated_table(space, skip_ms=0.004))
    want = calibrated_net(arch)
    assert est.estimate(arch)['latency'] == pytest.approx(want, rel=1e-12)
    assert est.path_cost(arch, space) == pytest.approx(want, rel=1e-12)
    parts = est.estimate_parts(arch)
    stem_sigs = arch_parts(arch)[0][1]
    assert parts[0]['latency'] == pytest.approx(
        sum(CAL.op_cost(hashed_cost(s)) for s in stem_sigs) + CAL.constant)
    # calibrated=False: the raw sums (path_cost with the skip entries)
    raw = estimator(space, calibrated_table(space), calibrated=False)
    plain = sum(hashed_cost(s) for _, sigs in arch_parts(arch) for s in sigs)
    assert raw.estimate(arch)['latency'] == pytest.approx(plain, rel=1e-12)
    assert raw.path_cost(arch, space) == pytest.approx(plain, rel=1e-12)


def test_a_table_without_calibration_is_used_raw():
    space = SearchSpace.from_config(TINY)
    est = estimator(space, synthetic_table(space))
    assert est.calibrated is False
    assert est.space_costs(space).stem == hashed_cost(space_ops(space).stem)
