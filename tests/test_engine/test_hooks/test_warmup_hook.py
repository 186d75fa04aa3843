"""DenseNASWarmupHook: arch updates off before ``warmup_epochs``, on after,
and right after a resume (state derived from ``runner.epoch``), set by one
explicit call on the search loop."""
from types import SimpleNamespace

import pytest
import torch.nn as nn

import densenas_mm  # noqa: F401
from densenas_mm.engine.hooks import DenseNASWarmupHook


class _Loop:
    """The part of DenseNASSearchLoop the hook talks to."""

    def __init__(self, max_epochs):
        self.max_epochs = max_epochs
        self.arch_updates = None
        self.arch_start_epoch = None
        self.calls = []

    def plan_arch_updates(self, start_epoch):
        self.arch_start_epoch = start_epoch

    def set_arch_updates(self, enabled):
        self.calls.append(enabled)
        self.arch_updates = enabled


class _Logger:

    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(('info', msg))

    def warning(self, msg):
        self.lines.append(('warning', msg))


def _runner(epoch=0, max_epochs=10, loop=None):
    return SimpleNamespace(
        model=nn.Linear(2, 2),
        epoch=epoch,
        train_loop=loop or _Loop(max_epochs),
        logger=_Logger())


def test_off_during_warmup_on_after():
    hook = DenseNASWarmupHook(warmup_epochs=3)
    runner = _runner()
    hook.before_train(runner)
    states = []
    for epoch in range(6):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        states.append(runner.train_loop.arch_updates)
    assert states == [False, False, False, True, True, True]
    assert runner.train_loop.arch_start_epoch == 3  # told for the ETA
    switches = [m for lvl, m in runner.logger.lines if 'updates on' in m]
    assert len(switches) == 1 and 'from epoch 4' in switches[0]


@pytest.mark.parametrize('epoch,expected', [(2, False), (3, True), (7, True)])
def test_resumed_run_is_in_the_right_phase(epoch, expected):
    """A fresh hook (as after a restart) with runner.epoch restored."""
    hook = DenseNASWarmupHook(warmup_epochs=3)
    runner = _runner(epoch=epoch)
    hook.before_train(runner)
    assert runner.train_loop.arch_updates is expected


def test_resumed_run_turns_updates_off_again_if_needed():
    """A loop left 'on' (e.g. reused object) is switched off in warm-up."""
    hook = DenseNASWarmupHook(warmup_epochs=3)
    runner = _runner(epoch=1)
    runner.train_loop.arch_updates = True
    hook.before_train(runner)
    assert runner.train_loop.arch_updates is False


def test_one_explicit_call_per_epoch_and_the_model_is_untouched():
    runner = _runner(epoch=5)
    hook = DenseNASWarmupHook(warmup_epochs=2)
    before = dict(vars(runner.model))
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    assert runner.train_loop.calls == [True, True]
    assert dict(vars(runner.model)) == before


def test_warns_when_warmup_covers_the_run():
    hook = DenseNASWarmupHook(warmup_epochs=10)
    runner = _runner(max_epochs=10)
    hook.before_train(runner)
    assert any(lvl == 'warning' and 'never be updated' in m
               for lvl, m in runner.logger.lines)


def test_zero_warmup_searches_from_the_start():
    runner = _runner()
    DenseNASWarmupHook(warmup_epochs=0).before_train(runner)
    assert runner.train_loop.arch_updates is True


@pytest.mark.parametrize('bad', [-1, 1.5, '3', None])
def test_bad_warmup_epochs(bad):
    with pytest.raises(ValueError, match='warmup_epochs must be an int'):
        DenseNASWarmupHook(warmup_epochs=bad)


def test_needs_the_search_loop():
    runner = _runner(loop=SimpleNamespace(max_epochs=3))
    with pytest.raises(TypeError, match='DenseNASSearchLoop'):
        DenseNASWarmupHook(warmup_epochs=1).before_train(runner)
