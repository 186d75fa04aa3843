"""The divergence guard and the stop messages of the DenseNAS algorithm."""
import math

import pytest
import torch
from mmengine.logging import MessageHub

from densenas_mm.models.algorithms import (DivergenceGuard, StepGuards,
                                           checkpoint_note, search_batch)
from helpers.search import (build_algorithm, build_optim, changed,
                            fake_batch, split_params)


def _step(algo, optim, phase, seed):
    return algo.train_step(
        search_batch(fake_batch(seed=seed), phase, seed), optim)


@pytest.fixture
def fresh_hub(tmp_path):
    """A message hub of its own (no last_ckpt of another test)."""
    return MessageHub.get_instance(f'guard_test_{tmp_path.name}')


def test_guard_threshold_is_a_running_median():
    guard = DivergenceGuard(factor=10, window=4, min_steps=3, floor=0.5)
    assert guard.limit('weights') == math.inf
    for v in (2.0, 4.0):
        guard.record('weights', v)
    assert guard.limit('weights') == math.inf  # 2 < min_steps
    guard.record('weights', 3.0)
    assert guard.median('weights') == 3.0
    assert guard.limit('weights') == 30.0
    for v in (100.0, 100.0, 100.0):  # the window forgets the old losses
        guard.record('weights', v)
    assert guard.median('weights') == 100.0 and guard.count('weights') == 4
    assert guard.limit('arch') == math.inf  # streams are separate
    low = DivergenceGuard(factor=10, window=3, min_steps=1, floor=0.5)
    low.record('arch', 0.01)
    assert low.limit('arch') == 5.0  # 10 x the floor, not 10 x 0.01


@pytest.mark.parametrize('kwargs, match', [
    (dict(factor=0.5), 'factor must be a number >= 1.0'),
    (dict(window=0), 'window must be a number >= 1'),
    (dict(min_steps=5, window=3), 'min_steps .5. must not exceed window'),
    (dict(floor=float('nan')), 'floor must be a number'),
    (dict(factor='big'), "factor must be a number >= 1.0, got 'big'"),
])
def test_guard_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DivergenceGuard(**kwargs)


def test_algorithm_rejects_a_non_dict_guard():
    with pytest.raises(TypeError, match='divergence_guard must be a dict'):
        build_algorithm(divergence_guard=100.0)


def test_diverged_loss_stops_before_the_update(fresh_hub):
    algo = build_algorithm(
        divergence_guard=dict(factor=50.0, window=10, min_steps=3))
    optim = build_optim(algo)
    algo.train()
    for seed in range(3):  # ordinary steps: the median is ~2.3
        loss = float(_step(algo, optim, 'warmup', seed)['loss'])
        assert 1.0 < loss < 10.0
    with torch.no_grad():
        algo.architecture.head.fc.weight.mul_(1e4)
    before = split_params(algo)
    with pytest.raises(FloatingPointError) as err:
        _step(algo, optim, 'warmup', 3)
    after = split_params(algo)
    assert changed(before['weights'], after['weights']) == []
    assert changed(before['arch'], after['arch']) == []
    message = str(err.value)
    assert message.startswith('diverged loss (')
    assert 'on rank 0; 1 rank(s) affected) in the warmup step' in message
    assert 'above 50 x the running median' in message
    assert 'of the last 3 weights steps' in message
    assert 'No checkpoint of this run has been written yet' in message
    assert 'model.divergence_guard=None' in message


def test_the_guard_is_off_with_none():
    algo = build_algorithm(divergence_guard=None)
    optim = build_optim(algo)
    algo.train()
    for seed in range(3):
        _step(algo, optim, 'warmup', seed)
    with torch.no_grad():
        algo.architecture.head.fc.weight.mul_(1e4)
    loss = float(_step(algo, optim, 'warmup', 3)['loss'])
    assert math.isfinite(loss) and loss > 1e3  # trained on, as before


def test_nan_message_without_a_checkpoint(fresh_hub):
    algo = build_algorithm()
    optim = build_optim(algo)
    with torch.no_grad():
        algo.architecture.head.fc.weight.fill_(float('nan'))
    with pytest.raises(FloatingPointError) as err:
        _step(algo, optim, 'weight', 0)
    message = str(err.value)
    assert message.startswith('non-finite loss (nan on rank 0; 1 rank(s) '
                              'affected) in the weight step')
    assert 'No checkpoint of this run has been written yet' in message
    assert 'last checkpoint is intact' not in message


def test_checkpoint_note_names_an_existing_checkpoint(fresh_hub, tmp_path):
    ckpt = tmp_path / 'epoch_2.pth'
    fresh_hub.update_info('last_ckpt', str(ckpt))
    # recorded but never written (a save that failed): not claimed
    assert 'No checkpoint of this run' in checkpoint_note()
    ckpt.write_bytes(b'x')
    note = checkpoint_note()
    assert f'the last checkpoint is intact: {ckpt}' in note
    assert f'--resume {ckpt}' in note
    after = checkpoint_note(before_update=False)
    assert after.startswith('The run is stopped before anything is saved')


def test_step_guards_alone(fresh_hub):
    guards = StepGuards(
        check_finite=True,
        divergence_guard=dict(factor=10.0, window=4, min_steps=2))
    for v in (2.0, 3.0):
        guards.check_loss(torch.tensor(v), 'weight')
    assert guards.divergence.count('weights') == 2
    assert guards.divergence.count('arch') == 0  # another stream
    guards.check_loss(torch.tensor(1e3), 'arch')  # arch: still collecting
    with pytest.raises(FloatingPointError, match='diverged loss .*above 10 x'):
        guards.check_loss(torch.tensor(26.0), 'weight')  # > 10 x 2.5
    assert guards.divergence.count('weights') == 2  # a stop is not recorded
    with pytest.raises(FloatingPointError, match='non-finite loss'):
        guards.check_loss(torch.tensor(float('inf')), 'weight')
    fine = guards.flags(torch.tensor(2.0), 'arch',
                        [torch.zeros(3), torch.ones(2)])
    assert fine.tolist() == [0.0, 0.0, 0.0, 2.0]
    guards.verdict(fine.tolist(), 'arch')
    nan_alpha = guards.flags(torch.tensor(2.0), 'arch',
                             [torch.zeros(3), torch.tensor([math.nan])])
    assert nan_alpha.tolist() == [0.0, 0.0, 1.0, 2.0]
    with pytest.raises(FloatingPointError, match='alpha/beta became non'):
        guards.verdict(nan_alpha.tolist(), 'arch')
    off = StepGuards(check_finite=False, divergence_guard=None)
    off.check_loss(torch.tensor(float('nan')), 'weight')
    assert not off.active
    assert off.flags(torch.tensor(math.nan), 'arch',
                     [torch.tensor([math.nan])]) is None
    assert off.divergence is None
    with pytest.raises(TypeError, match='divergence_guard must be a dict'):
        StepGuards(divergence_guard=100.0)
