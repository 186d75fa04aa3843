"""DenseNASBNRecalibrationHook: supernet validation with re-estimated BN
statistics, put back afterwards."""
import copy
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers.search import build_algorithm, fake_batch
from torch.nn.modules.batchnorm import _BatchNorm

from densenas_mm.models.algorithms import (bn_state, load_bn_state,
                                          recalibrate_bn)
from densenas_mm.registry import HOOKS


@pytest.fixture(autouse=True, scope='module')
def _single_thread(one_cpu_thread):
    """See ``one_cpu_thread`` in tests/conftest.py."""


class _Logger:

    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)


def _runner(algo, batches):
    return SimpleNamespace(model=algo, train_dataloader=batches,
                           logger=_Logger())


def _bn_state(module):
    return {
        f'{n}.{b}': getattr(m, b).clone()
        for n, m in module.named_modules() if isinstance(m, _BatchNorm)
        for b in ('running_mean', 'running_var', 'num_batches_tracked')
    }


def _trained_algo():
    """An algorithm whose running BN statistics are not the reset ones."""
    algo = build_algorithm(seed=0)
    algo.train()
    algo.mutator.set_sampling('all')
    with torch.no_grad():
        data = algo.data_preprocessor(fake_batch(8, seed=99), True)
        algo.architecture(data['inputs'], mode='tensor')
    return algo


def test_validation_uses_statistics_re_estimated_for_the_val_mixture():
    algo = _trained_algo()
    batches = [fake_batch(8, seed=s) for s in range(5)]
    hook = HOOKS.build(
        dict(type='densenas_mm.DenseNASBNRecalibrationHook', batches=3))
    expected = copy.deepcopy(algo)
    expected.mutator.set_sampling(expected.val_sampling)

    def run(batch):
        data = expected.data_preprocessor(batch, False)
        expected.architecture(data['inputs'], mode='tensor')

    assert recalibrate_bn(expected.architecture, run, batches[:3]) == 3
    runner = _runner(algo, batches)
    hook.before_val_epoch(runner)
    assert algo.val_bn == 'running'
    got, want = _bn_state(algo.architecture), _bn_state(expected.architecture)
    assert got.keys() == want.keys() and len(got) > 10
    for key in got:
        torch.testing.assert_close(got[key], want[key], msg=key)
    assert runner.logger.lines == [
        'BN statistics re-estimated on 3 search-train batches for supernet '
        'validation'
    ]
    # validation now normalises with the running statistics: its scores are
    # the eval-mode forward's
    algo.eval()
    batch = fake_batch(4, seed=123)
    out = algo.val_step(batch)
    with torch.no_grad():
        data = algo.data_preprocessor(batch, False)
        logits = algo.architecture(data['inputs'], mode='tensor')
    probs = torch.stack([o.pred_label.score for o in out])
    torch.testing.assert_close(probs, torch.softmax(logits, 1))


def test_training_statistics_and_random_state_are_put_back():
    algo = _trained_algo()
    before = _bn_state(algo.architecture)
    hook = HOOKS.build(
        dict(type='densenas_mm.DenseNASBNRecalibrationHook', batches=2))
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    runner = _runner(algo, [fake_batch(8, seed=s) for s in range(4)])
    hook.before_val_epoch(runner)
    moved = _bn_state(algo.architecture)
    assert any(not torch.equal(moved[k], before[k]) for k in before)
    draws = (random.random(), np.random.rand(), torch.rand(1).item())
    hook.after_val_epoch(runner)
    assert algo.val_bn == 'batch'
    after = _bn_state(algo.architecture)
    for key in before:
        assert torch.equal(after[key], before[key]), key
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    assert draws == (random.random(), np.random.rand(), torch.rand(1).item())


def test_reference_validation_is_unchanged_without_the_hook():
    """Without the hook, validation normalises with each batch's own
    statistics and leaves the running ones as they were."""
    algo = _trained_algo()
    before = _bn_state(algo.architecture)
    algo.eval()
    batch = fake_batch(4, seed=7)
    out = algo.val_step(batch)
    eval_logits = algo.architecture(
        algo.data_preprocessor(batch, False)['inputs'], mode='tensor')
    probs = torch.stack([o.pred_label.score for o in out])
    assert not torch.allclose(probs, torch.softmax(eval_logits, 1), atol=1e-4)
    for key, value in _bn_state(algo.architecture).items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize('bad', [0, -1, 2.0, True, '20'])
def test_bad_batches(bad):
    with pytest.raises(ValueError, match='batches must be an int >= 1'):
        HOOKS.build(
            dict(type='densenas_mm.DenseNASBNRecalibrationHook', batches=bad))


def test_needs_a_densenas_model():
    hook = HOOKS.build(dict(type='densenas_mm.DenseNASBNRecalibrationHook'))
    runner = _runner(torch.nn.Linear(2, 2), [])
    with pytest.raises(TypeError, match='needs a DenseNAS model'):
        hook.before_val_epoch(runner)


def test_bn_state_round_trip_and_foreign_state():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3),
                                torch.nn.BatchNorm2d(4),
                                torch.nn.Sequential(torch.nn.BatchNorm1d(2)))
    state = bn_state(model)
    assert sorted(state) == sorted(
        f'{m}.{b}' for m in ('1', '2.0')
        for b in ('running_mean', 'running_var', 'num_batches_tracked'))
    assert state['1.running_mean'].data_ptr() != \
        model[1].running_mean.data_ptr()
    model[1].running_mean.fill_(3.0)
    model[1].num_batches_tracked.fill_(7)
    model[2][0].running_var.fill_(0.25)
    load_bn_state(model, state)
    assert torch.equal(model[1].running_mean, torch.zeros(4))
    assert int(model[1].num_batches_tracked) == 0
    assert torch.equal(model[2][0].running_var, torch.ones(2))
    with pytest.raises(KeyError, match='not in the module'):
        load_bn_state(torch.nn.Sequential(torch.nn.BatchNorm2d(4)), state)
