"""DenseNASTimerHook: the ETA of the whole search."""
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub

import densenas_mm  # noqa: F401
from densenas_mm.engine.hooks import DenseNASTimerHook
from densenas_mm.engine.runner.search_loop import RemainingWork


def _runner(left):
    return SimpleNamespace(
        train_loop=SimpleNamespace(remaining_work=lambda: left),
        message_hub=MessageHub.get_instance('timer_hook_test'))


def test_eta_counts_every_kind_of_work():
    hook = DenseNASTimerHook()
    runner = _runner(RemainingWork(weight_steps=10, arch_steps=4,
                                   val_batches=6))
    assert hook.eta(runner) is None  # nothing timed yet
    # warm-up: weight steps timed only; arch steps and validation batches
    # are priced by the priors (2 and 1 weight steps)
    hook._add('weight', 1.0)
    hook._add('weight', 2.0)
    assert hook.mean('weight') == 1.5
    assert hook.eta(runner) == pytest.approx(10 * 1.5 + 4 * 3.0 + 6 * 1.5)
    # measured values replace the priors
    hook._add('arch', 5.0)
    hook._add('val', 1.2, count=3)
    assert hook.mean('val') == pytest.approx(0.4)
    assert hook.eta(runner) == pytest.approx(10 * 1.5 + 4 * 5.0 + 6 * 0.4)


def test_arch_steps_alone_and_custom_priors():
    hook = DenseNASTimerHook(arch_step_cost=4.0, val_batch_cost=0.5)
    runner = _runner(RemainingWork(weight_steps=2, arch_steps=1,
                                   val_batches=2))
    hook._add('arch', 8.0)  # interleaved: an arch step before any weight step
    # weight step = 8 / 4 = 2 s, validation batch = 0.5 * 2 s
    assert hook.eta(runner) == pytest.approx(2 * 2 + 1 * 8 + 2 * 1)


@pytest.mark.parametrize('kwargs', [dict(arch_step_cost=0),
                                    dict(val_batch_cost=-1)])
def test_bad_priors(kwargs):
    with pytest.raises(ValueError, match='must be a number > 0'):
        DenseNASTimerHook(**kwargs)
