"""DenseNASRankCheckHook: when it checks, and its arguments."""
from types import SimpleNamespace

import pytest

from densenas_mm.engine.hooks import DenseNASRankCheckHook
from densenas_mm.engine.hooks import rank_check_hook
from densenas_mm.registry import HOOKS


def _runner(iteration: int, arch_iter: int):
    algo = SimpleNamespace(mutator='the mutator')
    return SimpleNamespace(
        model=algo,
        cfg=dict(),
        iter=iteration,
        train_loop=SimpleNamespace(arch_iter=arch_iter))


def test_checks_every_interval_steps_of_each_kind(monkeypatch):
    calls = []
    monkeypatch.setattr(rank_check_hook, 'check_ranks_agree',
                        lambda mutator, step: calls.append((mutator, step)))
    hook = HOOKS.build(
        dict(type='densenas_mm.DenseNASRankCheckHook', interval=3))
    for i in range(7):
        hook.after_train_iter(_runner(i, 0), batch_idx=i)
    for i in range(4):
        hook.after_arch_iter(_runner(0, i), batch_idx=i)
    assert calls == [('the mutator', 'weight step 3'),
                     ('the mutator', 'weight step 6'),
                     ('the mutator', 'architecture step 3')]


def test_one_process_check_is_a_no_op():
    from helpers.search import build_algorithm
    from densenas_mm.models.algorithms.ddp import check_ranks_agree
    check_ranks_agree(build_algorithm().mutator, step=1)


@pytest.mark.parametrize('interval', [0, -1, 2.5])
def test_bad_interval_is_refused(interval):
    with pytest.raises(ValueError, match='interval must be an int >= 1'):
        DenseNASRankCheckHook(interval=interval)
