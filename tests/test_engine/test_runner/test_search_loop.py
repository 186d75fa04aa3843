"""DenseNASSearchLoop.remaining_work: what the ETA counts."""
import math
from types import SimpleNamespace

from mmengine.logging import MessageHub
from torch.utils.data import DataLoader

import densenas_mm  # noqa: F401
from densenas_mm.engine.runner.search_loop import (ARCH_ITER_KEY,
                                                   DenseNASSearchLoop)


def _loop(max_epochs=5, train=8, arch=6, val=4, batch=2, with_val=True,
          **kwargs):
    """A loop over lists (batch 2): 4 weight, 3 arch, 2 val batches."""
    hub = MessageHub.get_instance(f'loop_test_{id(kwargs)}_{max_epochs}')
    val_loop = SimpleNamespace(
        dataloader=DataLoader(list(range(val)), batch_size=batch))
    runner = SimpleNamespace(
        val_loop=val_loop if with_val else None,
        message_hub=hub,
        visualizer=SimpleNamespace())
    return DenseNASSearchLoop(
        runner,
        DataLoader(list(range(train)), batch_size=batch),
        DataLoader(list(range(arch)), batch_size=batch),
        max_epochs=max_epochs,
        **kwargs)


def test_remaining_work_of_a_fresh_and_a_running_search():
    loop = _loop(val_begin=3)
    loop.plan_arch_updates(2)  # warm-up: epochs 0 and 1
    loop.set_arch_updates(False)
    left = loop.remaining_work()
    # 5 x 4 weight steps; 3 searching epochs x 3; validation after epochs
    # 3, 4, 5 of 2 batches each
    assert (left.weight_steps, left.arch_steps, left.val_batches) == (20, 9,
                                                                      6)
    # epoch 2 (searching), one arch step done, no weight step yet
    loop._epoch, loop._arch_done, loop._weight_done = 2, 1, 0
    loop.set_arch_updates(True)
    left = loop.remaining_work()
    assert (left.weight_steps, left.arch_steps, left.val_batches) == (12, 8,
                                                                      6)
    # last epoch, the pass and 3 weight steps done
    loop._epoch, loop._arch_done, loop._weight_done = 4, 3, 3
    left = loop.remaining_work()
    assert (left.weight_steps, left.arch_steps, left.val_batches) == (1, 0, 2)


def test_remaining_work_interleaved_and_without_validation():
    loop = _loop(mode='interleaved', arch_interval=3, with_val=False)
    loop.plan_arch_updates(0)
    loop.set_arch_updates(True)
    assert loop.arch_steps_per_epoch == math.ceil(4 / 3) == 2
    left = loop.remaining_work()
    assert (left.weight_steps, left.arch_steps, left.val_batches) == (20, 10,
                                                                      0)


def test_arch_iter_lives_in_the_message_hub():
    loop = _loop()
    assert loop.arch_iter == 0
    loop.runner.message_hub.update_info(ARCH_ITER_KEY, 7)
    assert loop.arch_iter == 7  # what a resumed message hub brings back
