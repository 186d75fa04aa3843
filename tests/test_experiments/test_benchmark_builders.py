"""The benchmarks build what a search config builds (one recipe)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

import densenas_mm  # noqa: F401
from densenas_mm.experiments.benchmark.builders import (RECIPE_CONFIGS,
                                                        build_bench,
                                                        resolve_space)
from helpers import REPO_ROOT

DIGITS_SEARCH = osp.join(REPO_ROOT, 'configs', 'densenas',
                         'densenas_supernet-demo_1xb32-20e_digits.py')


def hyper(group):
    """An optimiser param group without its parameters."""
    return {k: v for k, v in group.items() if k != 'params'}


def assert_wrappers_are_the_configs(bench, cfg):
    """The bench's wrappers equal those the config's ``optim_wrapper``
    builds on the same algorithm: types, hyper-parameters, parameters."""
    expected = build_optim_wrapper(bench.algorithm, cfg.optim_wrapper)
    assert sorted(bench.optim.keys()) == sorted(expected.keys()) == [
        'architecture', 'mutator'
    ]
    for name in expected.keys():
        got, want = bench.optim[name], expected[name]
        assert type(got) is type(want)
        assert type(got.optimizer) is type(want.optimizer)
        assert len(got.optimizer.param_groups) == len(
            want.optimizer.param_groups)
        for g, w in zip(got.optimizer.param_groups,
                        want.optimizer.param_groups):
            assert hyper(g) == hyper(w)
            assert [id(p) for p in g['params']] == [id(p) for p in w['params']]
    arch = {id(p) for p in bench.algorithm.mutator.arch_params.values()}
    assert {id(p) for g in bench.optim['mutator'].optimizer.param_groups
            for p in g['params']} == arch


def test_a_search_config_is_benchmarked_with_its_own_recipe():
    cfg = Config.fromfile(DIGITS_SEARCH)
    bench = build_bench(DIGITS_SEARCH, batch_size=2, estimator='flops')
    assert_wrappers_are_the_configs(bench, cfg)
    algo = bench.algorithm
    # the weight step zeroes gradients as the search does
    assert algo.grad_zeroing == cfg.model.grad_zeroing == 'in_place'
    assert type(algo.cost_loss).__name__ == 'LatencyLoss'
    for key in ('loss_weight', 'tau'):
        if key in cfg.model.cost_loss:
            assert getattr(algo.cost_loss, key) == pytest.approx(
                cfg.model.cost_loss[key])
    sgd = bench.optim['architecture'].optimizer
    assert sgd.defaults['lr'] == cfg.optim_wrapper.architecture.optimizer.lr
    assert bench.weight_optimizer == \
        cfg.optim_wrapper.architecture.optimizer.to_dict()


def test_a_preset_gets_the_paper_search_recipe_of_its_family():
    resolved = resolve_space('densenas_demo_32')
    space, cfg = resolved['space'], resolved['cfg']
    recipe = Config.fromfile(RECIPE_CONFIGS['mbv2'])
    assert cfg.optim_wrapper.to_dict() == recipe.optim_wrapper.to_dict()
    assert cfg.model.cost_loss.to_dict() == recipe.model.cost_loss.to_dict()
    assert cfg.model.architecture.backbone.search_space['name'] == \
        'densenas_demo_32'
    assert cfg.model.architecture.head.num_classes == space.num_classes == 10
    assert cfg.model.architecture.head.in_channels == space.last_dim == 128
    bench = build_bench('densenas_demo_32', batch_size=2, estimator='flops')
    assert_wrappers_are_the_configs(bench, cfg)
    assert bench.algorithm.grad_zeroing == 'in_place'
    sgd = bench.optim['architecture'].optimizer
    assert isinstance(sgd, torch.optim.SGD)
    assert (sgd.defaults['lr'], sgd.defaults['momentum'],
            sgd.defaults['weight_decay']) == (0.2, 0.9, 4e-5)
    adam = bench.optim['mutator'].optimizer
    assert isinstance(adam, torch.optim.Adam)
    assert (adam.defaults['lr'], adam.defaults['betas'],
            adam.defaults['weight_decay']) == (3e-4, (0.5, 0.999), 1e-3)
    assert (bench.algorithm.cost_loss.loss_weight,
            bench.algorithm.cost_loss.tau) == (0.15, 15.0)
    assert bench.batch['inputs'].shape == (2, 3, 32, 32)
