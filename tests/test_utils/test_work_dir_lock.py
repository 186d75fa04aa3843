"""The work-dir lock's rules, with real processes as holders: a live
holder on this host is never taken over (not even with ``resume``), a dead
one is; a holder on another host only with ``resume``; an unreadable lock
is reported; the lock is released on exceptions; only rank 0 locks."""
import json
import os
import socket
import subprocess
import sys

import pytest

from densenas_mm.utils.io import OutputPathError
from densenas_mm.utils.work_dir_lock import (LOCK_NAME, WorkDirLock,
                                             WorkDirLockedError,
                                             launcher_rank)
from densenas_mm.utils.processes import process_start as _process_start


def _write_lock(folder, **info):
    folder.mkdir(exist_ok=True)
    (folder / LOCK_NAME).write_text(json.dumps(info))


@pytest.fixture
def live_pid():
    proc = subprocess.Popen(
        [sys.executable, '-c', 'import time; time.sleep(120)'])
    yield proc.pid
    proc.kill()
    proc.wait()


def test_acquire_records_holder_and_releases(tmp_path):
    work = tmp_path / 'w'
    with WorkDirLock(str(work)) as lock:
        info = json.loads((work / LOCK_NAME).read_text())
        assert info['host'] == socket.gethostname()
        assert info['pid'] == os.getpid()
        assert info['pid_start'] == _process_start(os.getpid())
        assert info['started']
        with pytest.raises(WorkDirLockedError) as err:
            WorkDirLock(str(work)).acquire()
        assert f'PID {os.getpid()}' in str(err.value)
        assert lock.info is not None
    assert not (work / LOCK_NAME).exists()
    assert os.listdir(work) == []  # no temporary left


def test_released_on_exception(tmp_path):
    with pytest.raises(KeyError):
        with WorkDirLock(str(tmp_path)):
            raise KeyError('boom')
    assert not (tmp_path / LOCK_NAME).exists()


def test_live_holder_on_this_host_is_never_taken_over(tmp_path, live_pid):
    _write_lock(tmp_path, host=socket.gethostname(), pid=live_pid,
                pid_start=_process_start(live_pid), started='then')
    for resume in (False, True):
        with pytest.raises(WorkDirLockedError, match=f'PID {live_pid}, '
                           'started then'):
            WorkDirLock(str(tmp_path), resume=resume).acquire()
    assert json.loads((tmp_path / LOCK_NAME).read_text())['pid'] == live_pid


def test_dead_or_reused_pid_on_this_host_is_stale(tmp_path, live_pid):
    said = []
    proc = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True)
    dead = int(proc.stdout)
    _write_lock(tmp_path, host=socket.gethostname(), pid=dead,
                pid_start='1', started='then')
    with WorkDirLock(str(tmp_path), logger=said.append):
        assert json.loads(
            (tmp_path / LOCK_NAME).read_text())['pid'] == os.getpid()
    assert len(said) == 1 and 'its process is gone' in said[0]
    assert f'PID {dead}' in said[0]
    # a live PID with another start time is another process: stale too
    _write_lock(tmp_path, host=socket.gethostname(), pid=live_pid,
                pid_start='-1', started='then')
    with WorkDirLock(str(tmp_path), logger=said.append):
        pass
    assert len(said) == 2


def test_other_host_needs_resume(tmp_path):
    _write_lock(tmp_path, host='other-node-7', pid=1, started='then')
    with pytest.raises(WorkDirLockedError) as err:
        WorkDirLock(str(tmp_path)).acquire()
    msg = str(err.value)
    assert 'host other-node-7, PID 1, started then' in msg
    assert 'resume with --resume, which takes over the lock' in msg
    said = []
    with WorkDirLock(str(tmp_path), resume=True, logger=said.append):
        pass
    assert '--resume was given' in said[0]
    assert not (tmp_path / LOCK_NAME).exists()


def test_unreadable_lock_is_reported(tmp_path):
    (tmp_path / LOCK_NAME).write_text('garbage')
    with pytest.raises(WorkDirLockedError, match='an unreadable lock'):
        WorkDirLock(str(tmp_path)).acquire()


def test_work_dir_that_is_a_file(tmp_path):
    path = tmp_path / 'file'
    path.write_text('x')
    with pytest.raises(OutputPathError, match='--work-dir .* is an existing '
                       'file'):
        WorkDirLock(str(path)).acquire()


@pytest.mark.parametrize('launcher,env,rank', [
    ('none', dict(RANK='3'), 0),
    ('pytorch', dict(RANK='1'), 1),
    ('pytorch', {}, 0),
    ('slurm', dict(SLURM_PROCID='2'), 2),
    ('mpi', dict(OMPI_COMM_WORLD_RANK='5'), 5),
])
def test_launcher_rank(launcher, env, rank):
    assert launcher_rank(launcher, env) == rank


def test_stale_removal_puts_back_a_lock_replaced_meanwhile(tmp_path):
    """Two runs take over one stale lock at once: the slower one must not
    delete the lock the faster one created."""
    lock = WorkDirLock(str(tmp_path))
    stale = dict(host=socket.gethostname(), pid=999999999, started='then')
    fresh = dict(host=socket.gethostname(), pid=os.getpid(), started='now')
    _write_lock(tmp_path, **fresh)  # the faster run's lock
    lock._remove_stale(stale, os.getpid())
    assert json.loads((tmp_path / LOCK_NAME).read_text()) == fresh
    assert os.listdir(tmp_path) == [LOCK_NAME]
    _write_lock(tmp_path, **stale)
    lock._remove_stale(stale, os.getpid())
    assert os.listdir(tmp_path) == []
