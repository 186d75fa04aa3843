"""``DenseNAS(grad_zeroing=...)``: what a weight step does to the ops it did
not sample.

The reference zeroed gradients in place (``optimizer.zero_grad()`` on
PyTorch 1.0-1.2): an op sampled once keeps a zero gradient, so later SGD
steps still apply momentum and weight decay to it. ``set_to_none`` (PyTorch
>= 2) drops the gradient, and SGD skips the op.
"""
import copy
from typing import Dict, List

import pytest
from helpers.search import (active_sets, build_algorithm, build_optim, changed,
                            fake_batch, split_params)

from densenas_mm.models.algorithms import GRAD_ZEROING, search_batch
from densenas_mm.models.mutables import DenseNASMixedOp


@pytest.fixture(autouse=True, scope='module')
def _single_thread(one_cpu_thread):
    """See ``one_cpu_thread`` in tests/conftest.py."""


def _candidate_params(algo, alias: str, index: int) -> List[str]:
    """Parameter names of candidate ``index`` of the mixed op ``alias``."""
    for name, module in algo.named_modules():
        if isinstance(module, DenseNASMixedOp) and module.alias == alias:
            prefix = f'{name}._candidates.{module.choices[index]}.'
            return [
                n for n, _ in algo.named_parameters() if n.startswith(prefix)
            ]
    raise KeyError(alias)


def _two_weight_steps(mode: str) -> Dict:
    algo = build_algorithm(grad_zeroing=mode, seed=0)
    # the demo recipe's SGD: momentum 0.9, weight decay 4e-5
    optim = build_optim(algo, weight_lr=0.1, weight_wd=4e-5)
    algo.train()
    algo.train_step(search_batch(fake_batch(seed=0), 'warmup', 11), optim)
    first = active_sets(algo)
    before = split_params(algo)['weights']
    algo.train_step(search_batch(fake_batch(seed=1), 'warmup', 12), optim)
    second = active_sets(algo)
    after = split_params(algo)['weights']
    return dict(
        algo=algo,
        first=first,
        second=second,
        moved=set(changed(before, after)))


@pytest.fixture(scope='module', params=GRAD_ZEROING)
def steps(request):
    return request.param, _two_weight_steps(request.param)


def test_op_sampled_in_step_1_only_moves_in_step_2_iff_zeroed_in_place(steps):
    mode, run = steps
    algo, first, second, moved = (run['algo'], run['first'], run['second'],
                                  run['moved'])
    # candidates with weights (not skip) sampled in step 1, not in step 2
    dropped = [(alias, first[alias][0]) for alias in first
               if first[alias] != second[alias]
               and _candidate_params(algo, alias, first[alias][0])]
    # seeds 11 and 12 sample different ops in most mixed ops
    assert len(dropped) >= 5
    for alias, index in dropped:
        names = _candidate_params(algo, alias, index)
        if mode == 'in_place':
            # zero gradient kept: momentum 0.9 * buf + wd * w moves it
            assert all(n in moved for n in names), (alias, index)
        else:
            assert not any(n in moved for n in names), (alias, index)
    # what step 2 samples moves, in both modes
    for alias, (index, ) in second.items():
        assert all(n in moved
                   for n in _candidate_params(algo, alias, index)), alias


def test_op_never_sampled_stays_put_in_both_modes(steps):
    _, run = steps
    algo, first, second, moved = (run['algo'], run['first'], run['second'],
                                  run['moved'])
    never = [(alias, i) for alias in first
             for i in range(algo.mutator._ops[alias].num_choices)
             if i not in first[alias] +
             second[alias] and _candidate_params(algo, alias, i)]
    assert never
    for alias, index in never:
        names = _candidate_params(algo, alias, index)
        assert not any(n in moved for n in names), (alias, index)


def test_in_place_keeps_zero_gradients_after_the_step():
    algo = build_algorithm(grad_zeroing='in_place')
    optim = build_optim(algo)
    algo.train_step(search_batch(fake_batch(), 'warmup', 1), optim)
    grads = [p.grad for p in algo.architecture.parameters()]
    kept = [g for g in grads if g is not None]
    assert kept and all(not bool(g.abs().sum()) for g in kept)
    # set_to_none leaves no gradient tensor behind
    algo = build_algorithm(grad_zeroing='set_to_none')
    optim = build_optim(algo)
    algo.train_step(search_batch(fake_batch(), 'warmup', 1), optim)
    assert all(p.grad is None for p in algo.parameters())


def test_in_place_arch_step_leaves_the_weights_alone():
    """Weights hold zero gradients from the weight step, but only the
    mutator's optimiser steps in an architecture step."""
    algo = build_algorithm(grad_zeroing='in_place')
    optim = build_optim(algo, arch_lr=0.01)
    algo.train_step(search_batch(fake_batch(), 'warmup', 1), optim)
    before = split_params(algo)
    algo.train_step(search_batch(fake_batch(seed=2), 'arch', 2), optim)
    after = split_params(algo)
    assert changed(before['weights'], after['weights']) == []
    assert changed(before['arch'], after['arch'])


def test_unknown_grad_zeroing_is_rejected():
    with pytest.raises(
            ValueError, match="grad_zeroing must be one of.*'zero'"):
        build_algorithm(grad_zeroing='zero')


def _state(algo, optim):
    return ({
        k: v.clone()
        for k, v in algo.state_dict().items()
    }, {
        k: ow.optimizer.state_dict()
        for k, ow in optim.items()
    })


@pytest.mark.parametrize('mode', GRAD_ZEROING)
def test_a_resumed_run_continues_exactly(mode):
    """Model and optimiser state restored into a fresh process (no gradient
    tensors): the next weight step equals the uninterrupted run's, also for
    the ops sampled before and not in that step (in_place restores their
    zero gradients from the optimiser state)."""
    batches = [fake_batch(seed=i) for i in range(3)]
    algo = build_algorithm(grad_zeroing=mode, seed=0)
    optim = build_optim(algo)
    algo.train()
    for i in range(2):
        algo.train_step(search_batch(batches[i], 'warmup', 20 + i), optim)
    model_state, optim_state = copy.deepcopy(_state(algo, optim))
    algo.train_step(search_batch(batches[2], 'warmup', 22), optim)
    uninterrupted = split_params(algo)['weights']

    resumed = build_algorithm(grad_zeroing=mode, seed=1)
    resumed.load_state_dict(model_state)
    optim2 = build_optim(resumed)
    for key, ow in optim2.items():
        ow.optimizer.load_state_dict(optim_state[key])
    resumed.train()
    assert all(p.grad is None for p in resumed.parameters())
    resumed.train_step(search_batch(batches[2], 'warmup', 22), optim2)
    after = split_params(resumed)['weights']
    assert changed(uninterrupted, after) == []
