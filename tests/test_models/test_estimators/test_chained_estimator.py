"""ChainedLatencyEstimator: registry, LUT checks, estimate, expected_cost."""
import math
import warnings

import pytest
import torch
import torch.nn as nn

import densenas_mm  # noqa: F401
from densenas_mm.apis.latency_audit import audit_net
from densenas_mm.latency import (LatencyTableError, LatencyTableWarning,
                                 space_ops)
from densenas_mm.models.estimators import (ChainedLatencyEstimator,
                                           expected_cost_from, space_costs)
from densenas_mm.registry import TASK_UTILS
from densenas_mm.search_space import SearchSpace, SpaceGraph
from helpers.estimators import (DEMO, FakeMutator, hashed_cost, path_arch,
                               random_params, synthetic_table)
from mmrazor.models.task_modules.estimators import ResourceEstimator


@pytest.fixture(scope='module')
def space():
    return SearchSpace.from_config(DEMO)


@pytest.fixture(scope='module')
def table(space):
    return synthetic_table(space, batch_size=32)


def demo_arch(space, seed=0):
    graph = SpaceGraph(space)
    alphas, betas = random_params(space, seed=seed)
    path = [0]
    while path[-1] != graph.terminal:
        path.append(graph.outgoing[path[-1]][int(betas[path[-1]].argmax())])
    return path_arch(space, graph, path, {
        a: int(v.argmax())
        for a, v in alphas.items()
    })


def test_built_from_registry_is_a_resource_estimator(table, space):
    est = TASK_UTILS.build(
        dict(
            type='densenas_mm.ChainedLatencyEstimator',
            lut=table.to_dict(),
            target_device=None,
            space=DEMO))
    assert isinstance(est, ChainedLatencyEstimator)
    assert isinstance(est, ResourceEstimator)
    assert est.metric == 'latency'


def test_expected_cost_uses_table_entries(table, space):
    est = ChainedLatencyEstimator(lut=table, target_device=None)
    alphas, betas = random_params(space, seed=1)
    mut = FakeMutator(space, alphas, betas)
    got = est.expected_cost(mut)
    # The synthetic table holds hashed_cost for every key.
    ref = expected_cost_from(
        space_costs(space, hashed_cost), mut.op_distribution, mut.route_probs)
    assert float(got) == pytest.approx(float(ref), rel=1e-6)
    assert est.space_costs(space) is est.space_costs(space)


@pytest.mark.parametrize('seed', [0, 4])
def test_onehot_expected_cost_equals_estimate(table, space, seed):
    arch = demo_arch(space, seed)
    alphas, betas = random_params(space, seed=seed)
    mut = FakeMutator(space, alphas, betas, onehot=True)
    for metric in ('latency', 'flops', 'params'):
        est = ChainedLatencyEstimator(
            lut=table, metric=metric, target_device=None)
        assert float(est.expected_cost(mut)) == pytest.approx(
            est.estimate(arch)[metric], rel=1e-6)


def test_missing_entry_names_key_and_fix(table, space):
    data = table.to_dict()
    key = space_ops(space, batch_size=32).heads['b03_head_from01'][1].key
    del data['entries'][key]
    est = ChainedLatencyEstimator(lut=data, target_device=None)
    with pytest.raises(LatencyTableError) as err:
        est.bind(DEMO)
    assert key in str(err.value)
    assert 'tools/build_latency_lut.py' in str(err.value)
    assert "space 'densenas_demo_32'" in str(err.value)
    assert err.value.missing == [key]
    with pytest.raises(LatencyTableError, match='lacks 1 of'):
        ChainedLatencyEstimator(lut=data, target_device=None, space=DEMO)


def test_latency_metric_needs_a_table():
    with pytest.raises(ValueError, match='build_latency_lut.py'):
        ChainedLatencyEstimator(lut=None, metric='latency')
    with pytest.raises(ValueError, match='metric must be one of'):
        ChainedLatencyEstimator(lut=None, metric='energy')
    est = ChainedLatencyEstimator(lut=None, metric='flops')
    with pytest.raises(ValueError, match='latency costs need a table'):
        est.space_costs(SearchSpace.from_config(DEMO), 'latency')


def test_other_device_or_batch_warns(table):
    with pytest.warns(LatencyTableWarning, match="measured on 'synthetic'"):
        ChainedLatencyEstimator(lut=table.to_dict(), target_device='auto')
    with pytest.warns(LatencyTableWarning, match='batch size 32 but'):
        ChainedLatencyEstimator(
            lut=table.to_dict(), target_device=None, batch_size=64)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        ChainedLatencyEstimator(
            lut=table.to_dict(), target_device='synthetic', batch_size=32)


def test_estimate_without_table_gives_flops_params(space):
    est = ChainedLatencyEstimator(lut=None, metric='flops')
    arch = demo_arch(space)
    result = est.estimate(arch)
    assert math.isnan(result['latency'])
    assert result['flops'] > 0 and result['params'] > 0
    # The same via the YAML content; a bare net_config string means 224x224
    # and 1000 classes (the reference's defaults), hence more FLOPs.
    assert est.estimate(arch.to_net_config())['flops'] > 10 * result['flops']
    assert est.estimate(arch.to_dict())['params'] == pytest.approx(
        result['params'])


def test_plain_module_counts_like_the_arch(space):
    arch = demo_arch(space, seed=2)
    net, _ = audit_net(arch)
    net.train()
    est = ChainedLatencyEstimator(
        lut=None, metric='flops', input_shape=(1, 3, 32, 32))
    by_arch = est.estimate(arch)
    by_module = est.estimate(
        net, latency_cfg=dict(warmup=1, min_repeats=2, max_repeats=2))
    assert by_module['flops'] == pytest.approx(by_arch['flops'], rel=1e-9)
    assert by_module['params'] == pytest.approx(by_arch['params'], rel=1e-9)
    assert by_module['latency'] > 0  # measured on CPU
    assert net.training  # the mode it was in is kept
    bigger = est.estimate(
        net, flops_params_cfg=dict(input_shape=(1, 3, 64, 64)))
    assert bigger['flops'] > 3.5 * by_arch['flops']
    assert bigger['params'] == pytest.approx(by_arch['params'])

    class Holder(nn.Module):

        def __init__(self):
            super().__init__()
            self.backbone = nn.Module()
            self.backbone.arch = arch

    assert est.estimate(Holder())['flops'] == pytest.approx(by_arch['flops'])


def test_as_strings_and_units(space):
    arch = demo_arch(space)
    est = ChainedLatencyEstimator(
        lut=None,
        metric='flops',
        as_strings=True,
        units=dict(flops='G', params='M'))
    out = est.estimate(arch)
    assert out['flops'].endswith(' G') and out['params'].endswith(' M')
    flops_m = ChainedLatencyEstimator(
        lut=None, metric='flops').estimate(arch)['flops']
    assert float(out['flops'].split()[0]) == pytest.approx(
        flops_m / 1e3, abs=1e-3)


def test_expected_cost_follows_mutator_device_dtype(table, space):
    est = ChainedLatencyEstimator(lut=table, target_device=None)
    alphas, betas = random_params(space, seed=3, dtype=torch.float32)
    got = est.expected_cost(FakeMutator(space, alphas, betas))
    assert got.dtype == torch.float32 and got.ndim == 0
