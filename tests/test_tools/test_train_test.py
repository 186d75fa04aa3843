"""tools/train.py, --resume, tools/test.py and tools/dist_train.sh, for real.

Each run is a subprocess on the demo data, shrunk with ``--cfg-options`` to
a few iterations, so the whole module takes about a minute on 2 CPU cores
(most of it interpreter start-up).
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List

import pytest
import torch

from helpers import REPO_ROOT
from helpers.tools import BASELINE_SHRINK
CONFIG = osp.join(REPO_ROOT, 'configs', 'baseline', 'mobilenet-v2_w0.5_1xb32-2e_digits.py')
SHRINK = BASELINE_SHRINK


def _run(cmd: List[str], env: Dict[str, str], log: str) -> str:
    out = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    text = out.stdout + out.stderr
    with open(log, 'w') as f:
        f.write(text)
    assert out.returncode == 0, f'{" ".join(cmd)} failed:\n{text[-4000:]}'
    return text


def _train(work_dir: str, env, *extra: str, epochs: int = 1) -> str:
    cmd = [
        sys.executable, 'tools/train.py', CONFIG, '--work-dir', work_dir,
        *extra, '--cfg-options', f'train_cfg.max_epochs={epochs}', *SHRINK
    ]
    return _run(cmd, env, osp.join(work_dir + f'.train{epochs}.out'))


def _meta(ckpt: str) -> dict:
    return torch.load(ckpt, map_location='cpu', weights_only=False)['meta']


@pytest.fixture(scope='module')
def trained(tmp_path_factory, tool_env):
    """Train 1 epoch, then resume the same work dir up to epoch 2."""
    work_dir = str(tmp_path_factory.mktemp('tools') / 'baseline')
    first = _train(work_dir, tool_env, epochs=1)
    second = _train(work_dir, tool_env, '--resume', epochs=2)
    return dict(work_dir=work_dir, first=first, second=second)


@pytest.mark.slow
def test_train_one_epoch(trained):
    work_dir = trained['work_dir']
    meta = _meta(osp.join(work_dir, 'epoch_1.pth'))
    assert (meta['epoch'], meta['iter']) == (1, 4)
    assert 'Epoch(train) [1][4/4]' in trained['first']
    assert 'accuracy/top1' in trained['first']


@pytest.mark.slow
def test_resume_continues_to_epoch_2(trained):
    work_dir = trained['work_dir']
    meta = _meta(osp.join(work_dir, 'epoch_2.pth'))
    assert (meta['epoch'], meta['iter']) == (2, 8)
    second = trained['second']
    assert 'resumed epoch: 1, iter: 4' in second
    assert 'Epoch(train) [2][4/4]' in second
    assert 'Epoch(train) [1]' not in second
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('epoch_2.pth')


@pytest.mark.slow
def test_test_reports_accuracy(trained, tool_env, tmp_path):
    out = str(tmp_path / 'metrics.json')
    cmd = [
        sys.executable, 'tools/test.py', CONFIG,
        osp.join(trained['work_dir'], 'epoch_2.pth'), '--work-dir',
        str(tmp_path / 'test'), '--out', out, '--cfg-options', *SHRINK
    ]
    _run(cmd, tool_env, str(tmp_path / 'test.out'))
    with open(out) as f:
        metrics = json.load(f)
    top1, top5 = metrics['accuracy/top1'], metrics['accuracy/top5']
    assert 0.0 <= top1 <= top5 <= 100.0
    # 32 test images: accuracies are multiples of 100 / 32
    assert abs(top1 * 32 / 100 - round(top1 * 32 / 100)) < 1e-3


@pytest.mark.slow
def test_dist_train_two_cpu_processes(tool_env, tmp_path, free_port):
    work_dir = str(tmp_path / 'dist')
    env = dict(tool_env, PORT=str(free_port))
    cmd = [
        'bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_epochs=1', *SHRINK
    ]
    text = _run(cmd, env, str(tmp_path / 'dist.out'))
    # 64 samples over 2 ranks of batch 16: 2 iterations per epoch
    assert 'Epoch(train) [1][2/2]' in text
    assert 'no CUDA: env_cfg.dist_cfg.backend nccl -> gloo' in text
    logs = glob.glob(osp.join(work_dir, '*', '*.log'))
    assert len(logs) == 1  # only rank 0 writes the log file
    with open(logs[0]) as f:
        log = f.read()
    assert 'Distributed training: True' in log
    assert "backend='gloo'" in log
    meta = _meta(osp.join(work_dir, 'epoch_1.pth'))
    assert (meta['epoch'], meta['iter']) == (1, 2)
    assert os.path.isfile(osp.join(work_dir, 'last_checkpoint'))
