"""Nothing lost: the work-dir lock, ``--resume`` without a checkpoint, a
resume with changed settings and a copied work dir, with real
``tools/train.py`` processes on the demo data.

One story in one work dir (each step a subprocess):

1. run A trains (held at its first iteration); run B into the same work
   dir fails with one ``error:`` line naming A's host and PID, exit 1,
   and writes nothing;
2. A is killed with SIGKILL: its lock stays (stale);
3. ``--resume`` there (no checkpoint yet) is an error, not a fresh start;
4. a fresh run takes the stale lock over (the log says so), trains one
   epoch and releases the lock;
5. the work dir is copied and the original deleted: ``--resume`` of the
   copy continues from the copy's checkpoint and warns about the
   settings that changed (batch size, max epochs).
"""
import os
import os.path as osp
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

from densenas_mm.utils.work_dir_lock import LOCK_NAME

from helpers import REPO_ROOT
from helpers.tools import BASELINE_SHRINK

CONFIG = osp.join(REPO_ROOT, 'configs', 'baseline',
                  'mobilenet-v2_w0.5_1xb32-2e_digits.py')


def _cmd(work_dir, *extra, options=()):
    return [
        sys.executable, 'tools/train.py', CONFIG, '--work-dir', work_dir,
        *extra, '--cfg-options', 'train_cfg.max_epochs=1', *BASELINE_SHRINK,
        *options
    ]


def _run(cmd, env):
    out = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    return out.returncode, out.stdout + out.stderr


def _errors(text):
    return [ln for ln in text.splitlines() if ln.startswith('error: ')]


@pytest.mark.slow
def test_lock_resume_and_copied_work_dir(tmp_path, tool_env):
    work = str(tmp_path / 'run')
    # 1. A: a real training run, held inside its first iteration by a hook
    #    that sleeps (so it certainly holds the lock while B starts)
    log_a = open(tmp_path / 'a.log', 'w')
    a = subprocess.Popen(
        [sys.executable, '-c', _HOLDER, *_cmd(work)[2:]],
        cwd=REPO_ROOT, env=tool_env, stdout=log_a,
        stderr=subprocess.STDOUT, text=True)
    lock = osp.join(work, LOCK_NAME)
    for _ in range(600):
        if osp.exists(osp.join(work, 'HOLDING')) or a.poll() is not None:
            break
        time.sleep(0.5)
    assert a.poll() is None, (tmp_path / 'a.log').read_text()[-3000:]
    assert osp.isfile(lock)
    status, text = _run(_cmd(work), tool_env)
    errors = _errors(text)
    assert status == 1 and len(errors) == 1, text[-3000:]
    assert f'is in use by another run (host {socket.gethostname()}, PID ' \
           f'{a.pid}, started ' in errors[0]
    assert 'Use another --work-dir' in errors[0]
    assert not any(n.endswith('.pth') for n in os.listdir(work))

    # 2. kill -9: the lock stays
    a.send_signal(signal.SIGKILL)
    a.wait(60)
    log_a.close()
    assert osp.isfile(lock)

    # 3. --resume with nothing to resume
    status, text = _run(_cmd(work, '--resume'), tool_env)
    errors = _errors(text)
    assert status == 1 and len(errors) == 1, text[-3000:]
    assert "--resume: nothing to resume in work dir" in errors[0]
    assert 'Start without --resume' in errors[0]
    assert 'resumed from None' not in text

    # 4. a fresh run takes the stale lock over, trains, releases it
    status, text = _run(_cmd(work), tool_env)
    assert status == 0, text[-3000:]
    assert f'taking over the lock of a run that ended (host ' \
           f'{socket.gethostname()}, PID {a.pid}' in text
    assert 'its process is gone' in text
    assert not osp.exists(lock)
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read() == 'epoch_1.pth'
    meta = torch.load(osp.join(work, 'epoch_1.pth'), map_location='cpu',
                      weights_only=False)['meta']
    assert meta['densenas_run'] == {
        'world_size': 1,
        'seed': 0,
        'max_epochs': 1,
        'train_dataloader.batch_size': 16,
    }

    # 5. a copy resumes from its own checkpoint, with changed settings
    copy = str(tmp_path / 'copy')
    shutil.copytree(work, copy)
    shutil.rmtree(work)
    status, text = _run(
        _cmd(copy, '--resume', options=[
            'train_cfg.max_epochs=2', 'train_dataloader.batch_size=32'
        ]), tool_env)
    assert status == 0, text[-3000:]
    assert 'resumed epoch: 1, iter: 4' in text
    assert 'Epoch(train) [2][2/2]' in text
    assert f"resuming {osp.join(copy, 'epoch_1.pth')} with settings other " \
           "than its run's: max_epochs: 1 -> 2; " \
           'train_dataloader.batch_size: 16 -> 32.' in text
    assert osp.isfile(osp.join(copy, 'epoch_2.pth'))
    assert not osp.exists(work)


#: Runs tools/train.py (argv) with a hook that, at the first iteration,
#: marks the work dir and sleeps: the lock holder of step 1.
_HOLDER = '''
import os, sys, time
sys.argv = ['tools/train.py'] + sys.argv[1:]
from mmengine.hooks import Hook
import mmengine.runner
_orig = mmengine.runner.Runner.train
def train(self):
    class Hold(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            open(os.path.join(runner.work_dir, 'HOLDING'), 'w').close()
            time.sleep(600)
    self.register_hook(Hold())
    return _orig(self)
mmengine.runner.Runner.train = train
import runpy
runpy.run_path('tools/train.py', run_name='__main__')
'''
