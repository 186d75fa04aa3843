"""DenseNASLoggerHook: a log line's values are the means of the
architecture steps since the previous line, kept in the message hub's
history buffers."""
import json
import logging
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub

from densenas_mm.registry import HOOKS


def fake_runner(tmp_path, steps_per_epoch: int):
    loop = SimpleNamespace(arch_steps_done=0,
                           arch_steps_per_epoch=steps_per_epoch, arch_iter=0)
    lines = []

    class Logger(logging.Logger):

        def info(self, msg, *args, **kwargs):
            lines.append(msg)

    return SimpleNamespace(
        train_loop=loop, epoch=0, log_dir=str(tmp_path),
        message_hub=MessageHub.get_instance('logger_hook_window_test'),
        optim_wrapper=SimpleNamespace(
            get_lr=lambda: {'mutator.lr': [3e-4], 'architecture.lr': [0.1]}),
        logger=Logger('t'), visualizer=SimpleNamespace(_vis_backends={}),
        lines=lines)


def test_window_means_and_grad_values(tmp_path, recwarn):
    hook = HOOKS.build(dict(type='densenas_mm.DenseNASLoggerHook',
                            interval=2))
    runner = fake_runner(tmp_path, steps_per_epoch=5)
    hook.before_train(runner)
    w = torch.tensor(2.0, requires_grad=True)
    values = [1.0, 2.0, 4.0, 8.0, 16.0]
    for i, v in enumerate(values, 1):
        runner.train_loop.arch_steps_done = i
        runner.train_loop.arch_iter = i
        # a value that still carries its graph is logged without a warning
        hook.after_arch_iter(runner, i, outputs=dict(
            arch_loss=w * v / 2, arch_acc=torch.tensor(10.0 * i)))
    rows = [json.loads(ln) for ln in open(hook.path)]
    # lines after steps 2 and 4 (interval) and 5 (the pass's last step)
    assert [r['iter'] for r in rows] == [2, 4, 5]
    assert [r['arch_loss'] for r in rows] == pytest.approx([1.5, 6.0, 16.0])
    assert [r['arch_acc'] for r in rows] == pytest.approx([15.0, 35.0, 50.0])
    assert all(r['lr'] == pytest.approx(3e-4) for r in rows)
    assert len(runner.lines) == 3 and 'arch_loss: 1.5000' in runner.lines[0]
    assert not [w for w in recwarn.list
                if 'requires_grad' in str(w.message)]
