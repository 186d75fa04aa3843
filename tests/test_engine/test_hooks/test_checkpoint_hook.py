"""DenseNASCheckpointHook: kill -9 during a save, order of deletions,
strict loading through the real Runner.

The kill test runs ``tools/train.py`` on the demo data (baseline config,
4 iterations per epoch) in a subprocess whose save of epoch 2 writes half
the file and then waits; the test kills it with SIGKILL at that moment.
"""
import copy
import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from densenas_mm.apis.cfg_adjust import sanitize_dataloaders
from densenas_mm.engine.hooks import checkpoint_hook
from densenas_mm.utils.checkpoint import (CheckpointError, is_intact,
                                          read_checkpoint)
from densenas_mm.utils.resume import resolve_resume
from helpers import REPO_ROOT

BASELINE = osp.join(REPO_ROOT, 'configs', 'baseline', 'mobilenet-v2_w0.5_1xb32-2e_digits.py')
SHRINK_OPTIONS = {
    'train_dataloader.batch_size': 16,
    'train_dataloader.num_workers': 0,
    'train_dataloader.dataset.indices': 64,
    'val_dataloader.batch_size': 16,
    'val_dataloader.num_workers': 0,
    'val_dataloader.dataset.indices': 32,
    'default_hooks.logger.interval': 1
}
SHRINK = [f'{k}={v}' for k, v in SHRINK_OPTIONS.items()]
STALL_CONFIG = '''
_base_ = [{base!r}]
custom_imports = dict(
    imports=['densenas_mm', 'helpers.search_hooks'],
    allow_failed_imports=False)
custom_hooks = [
    dict(type='densenas_mm.DenseNASTestStallSaveHook', epoch=2,
         marker={marker!r})]
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
'''


@pytest.fixture
def env(tool_env):
    env = dict(tool_env)
    env['PYTHONPATH'] = os.pathsep.join(
        [osp.join(REPO_ROOT, 'tests'), REPO_ROOT] +
        ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    return env


def _train_cmd(config, work_dir, *extra):
    return [
        sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
        *extra, '--cfg-options', 'train_cfg.max_epochs=3',
        'default_hooks.checkpoint.max_keep_ckpts=1', *SHRINK
    ]


@pytest.mark.slow
def test_kill_during_a_checkpoint_write_keeps_the_previous_one(
        tmp_path, env):
    work = str(tmp_path / 'work')
    marker = str(tmp_path / 'stalled')
    config = str(tmp_path / 'stall.py')
    with open(config, 'w') as f:
        f.write(STALL_CONFIG.format(base=BASELINE, marker=marker))
    log = open(str(tmp_path / 'run.out'), 'w')
    proc = subprocess.Popen(
        _train_cmd(config, work), cwd=REPO_ROOT, env=env, stdout=log,
        stderr=subprocess.STDOUT)
    try:
        # a guard against a hang, not a speed assertion
        deadline = time.monotonic() + 600
        while not osp.exists(marker) and proc.poll() is None:
            assert time.monotonic() < deadline, 'the save never started'
            time.sleep(0.2)
        assert proc.poll() is None, open(str(tmp_path / 'run.out')).read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    assert proc.returncode == -signal.SIGKILL
    partial = open(marker).read()
    # the half-written bytes went to a hidden temporary file ...
    assert osp.basename(partial).startswith('.epoch_2.pth.')
    assert partial.endswith('.tmp') and not is_intact(partial)
    assert osp.getsize(partial) > 0
    # ... not to epoch_2.pth; epoch_1 survives although max_keep_ckpts=1
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))
    first = osp.join(work, 'epoch_1.pth')
    assert is_intact(first)
    assert read_checkpoint(first)['meta']['epoch'] == 1
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read() == 'epoch_1.pth'  # relative to the work dir
    assert resolve_resume(work) == first

    # the run resumes from epoch 1; the leftover is cleaned up
    out = subprocess.run(
        _train_cmd(BASELINE, work, '--resume'), cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert 'resumed epoch: 1, iter: 4' in text
    assert f'removed {osp.basename(partial)}' in text
    assert not osp.exists(partial)
    assert sorted(osp.basename(p) for p in glob.glob(
        osp.join(work, '*.pth'))) == ['epoch_3.pth']  # max_keep_ckpts=1
    assert resolve_resume(work) == osp.join(work, 'epoch_3.pth')
    assert not glob.glob(osp.join(work, '.*.tmp'))


@pytest.fixture
def runner(tmp_path, demo_data_root, monkeypatch):
    """A real Runner of the baseline config after one epoch (max_keep 1)."""
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    cfg = Config.fromfile(BASELINE)
    cfg.merge_from_dict(SHRINK_OPTIONS)
    cfg.merge_from_dict({
        'train_cfg.max_epochs': 1,
        'default_hooks.checkpoint.max_keep_ckpts': 1
    })
    sanitize_dataloaders(cfg)  # num_workers=0: no persistent workers
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = f'ckpt_hook_{tmp_path.name}'
    torch.manual_seed(0)
    run = Runner.from_cfg(cfg)
    run.train()
    return run


def _hook(runner):
    return next(h for h in runner.hooks
                if isinstance(h, checkpoint_hook.DenseNASCheckpointHook))


def test_old_checkpoints_are_deleted_only_after_the_new_one(
        runner, monkeypatch):
    """A crash after the new checkpoint is complete but before
    last_checkpoint is updated: both checkpoints are there and
    last_checkpoint still names a complete one."""
    work = runner.work_dir
    first = osp.join(work, 'epoch_1.pth')
    assert is_intact(first)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt('killed')

    monkeypatch.setattr(checkpoint_hook, 'write_text_atomic', crash)
    with pytest.raises(KeyboardInterrupt):
        _hook(runner)._save_checkpoint_with_step(
            runner, 2, dict(epoch=2, iter=8))
    assert is_intact(first) and is_intact(osp.join(work, 'epoch_2.pth'))
    assert resolve_resume(work) == first


def test_a_completed_save_replaces_the_oldest(runner):
    work = runner.work_dir
    _hook(runner)._save_checkpoint_with_step(runner, 2, dict(epoch=2,
                                                             iter=8))
    # max_keep_ckpts=1: epoch 1 goes once epoch 2 is in place
    assert not osp.exists(osp.join(work, 'epoch_1.pth'))
    assert resolve_resume(work) == osp.join(work, 'epoch_2.pth')
    assert read_checkpoint(osp.join(work, 'epoch_2.pth'))['meta']['epoch'] \
        == 2
    assert not glob.glob(osp.join(work, '.*.tmp'))


def test_runner_loads_strictly(runner, tmp_path):
    good = osp.join(runner.work_dir, 'epoch_1.pth')
    runner.load_checkpoint(good)  # fits
    ckpt = torch.load(good, map_location='cpu', weights_only=False)
    state = copy.copy(ckpt['state_dict'])
    name = next(k for k in state if k.endswith('weight'))
    state['extra.weight'] = state.pop(name)
    for key in list(state):
        if key.startswith('head.fc.weight'):
            state[key] = torch.zeros(3, 3)
    bad = str(tmp_path / 'foreign.pth')
    torch.save(dict(ckpt, state_dict=state), bad)
    runner._load_from = bad
    with pytest.raises(CheckpointError) as err:
        runner.load_checkpoint(bad)
    message = str(err.value)
    assert f"checkpoint {bad!r} does not fit the model" in message
    assert f'1 missing key(s): {name}' in message
    assert '1 unexpected key(s): extra.weight' in message
    assert 'head.fc.weight (3, 3) in the checkpoint vs (10, ' in message
