"""A silent rank at the rank-check hook's sync point, with 2 real gloo
processes: rank 1 sleeps, rank 0 fails after the configured timeout
(``env_cfg.dist_cfg.timeout``) with a message naming rank 1, while rank 1
is still asleep."""
import os.path as osp
import subprocess
import sys

import pytest

from helpers import REPO_ROOT

#: One rank: the rank-check hook's epoch-start barrier with a 3 s timeout;
#: rank 1 sleeps 20 s first and then records whether rank 0 had already
#: failed.
RANK = '''
import datetime, os, sys, time
import torch.distributed as dist
from mmengine.config import Config
from densenas_mm.engine.hooks import DenseNASRankCheckHook
from densenas_mm.models.algorithms.ddp import RankTimeoutError
rank, port, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3]
os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=port)
dist.init_process_group('gloo', rank=rank, world_size=2,
                        timeout=datetime.timedelta(seconds=3))
class Runner:
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(timeout=3))))
    epoch = 4
hook = DenseNASRankCheckHook(interval=1)
if rank == 1:
    time.sleep(20)
    done = os.path.exists(os.path.join(folder, 'rank0.txt'))
    open(os.path.join(folder, 'rank1.txt'), 'w').write(str(done))
    os._exit(0)
try:
    hook.before_train_epoch(Runner())
    msg = 'passed'
except RankTimeoutError as err:
    msg = str(err)
open(os.path.join(folder, 'rank0.txt'), 'w').write(msg)
os._exit(0)
'''


@pytest.mark.slow
def test_silent_rank_is_named_at_the_barrier(tmp_path, free_port, tool_env):
    procs = [
        subprocess.Popen(
            [sys.executable, '-c', RANK, str(r), str(free_port),
             str(tmp_path)], cwd=REPO_ROOT, env=tool_env)
        for r in (0, 1)
    ]
    for proc in procs:
        proc.wait(300)
    msg = (tmp_path / 'rank0.txt').read_text()
    assert msg.startswith('rank(s) [1] of 2 did not reach the start of '
                          'epoch 5 within 3 s (env_cfg.dist_cfg.timeout = '
                          '3 s)'), msg
    assert 'failed to pass monitoredBarrier' in msg
    # rank 0 had failed before rank 1 woke up
    assert (tmp_path / 'rank1.txt').read_text() == 'True'
