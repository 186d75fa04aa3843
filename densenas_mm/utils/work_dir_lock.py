"""One run per work dir: a lock file taken by rank 0 of a training run.

Two runs writing into the same ``--work-dir`` overwrite each other's
checkpoints and architecture files. :class:`WorkDirLock` makes the second
one fail before it writes anything, naming the run that holds the
directory.

The lock is the file ``WORK_DIR/.densenas_lock``, created atomically (its
content is written to a temporary file first and hard-linked to the lock
name, which fails if the name exists: no reader ever sees an empty lock)
with the holder's host, PID, process start time and start date. Only rank
0 of a distributed run takes it. It is released when the run ends, also
by an exception. A lock is **stale**, and taken over with a warning, only

- when its host is this host and its process is gone (a ``kill -9``, a
  crash of the machine), checked by PID and the process's start time (a
  reused PID does not count as the holder), or
- when the user passes ``--resume`` and the holder is not a live process
  on this host (a lock left on a shared file system by another node, which
  this node cannot check).

A live holder on another host is never judged from here: the run fails
and says so (shared file systems across nodes must not let two jobs write
one directory, nor deadlock one).
"""
import json
import os
import socket
import time
from typing import Any, Dict, Optional

from .processes import process_alive, process_start

#: The lock file's name inside the work dir.
LOCK_NAME = '.densenas_lock'


class WorkDirLockedError(RuntimeError):
    """The work dir is in use by another run."""


def holder_text(info: Dict[str, Any]) -> str:
    """``host H, PID P, started DATE`` for a lock's content."""
    return (f"host {info.get('host', '?')}, PID {info.get('pid', '?')}, "
            f"started {info.get('started', '?')}")


class WorkDirLock:
    """The lock of one work dir (see the module docstring).

    Args:
        work_dir (str): The run's work dir (created if missing).
        resume (bool): The run resumes (``--resume``): a lock whose holder
            cannot be seen alive from here is taken over.
        logger (callable, optional): Called with a message when a stale
            lock is taken over (default: ``print``).
    """

    def __init__(self,
                 work_dir: str,
                 resume: bool = False,
                 logger: Optional[Any] = None) -> None:
        self.work_dir = os.fspath(work_dir)
        self.path = os.path.join(self.work_dir, LOCK_NAME)
        self.resume = bool(resume)
        self.logger = logger or print
        self.info: Optional[Dict[str, Any]] = None

    def _own(self) -> Dict[str, Any]:
        pid = os.getpid()
        return dict(
            host=socket.gethostname(),
            pid=pid,
            pid_start=process_start(pid),
            started=time.strftime('%Y-%m-%d %H:%M:%S %Z'))

    def _read(self) -> Optional[Dict[str, Any]]:
        """The lock's content; None if it vanished; ``{}`` if unreadable."""
        try:
            with open(self.path, encoding='utf-8') as f:
                info = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    def _create(self, info: Dict[str, Any]) -> bool:
        """Create the lock with ``info``; False if it exists.

        The content is written to a temporary file and hard-linked to the
        lock name (fails if the name exists; readers never see an empty
        lock). Where hard links are not supported, the lock is created
        with ``O_CREAT | O_EXCL`` and written.
        """
        text = json.dumps(info)
        tmp = f'{self.path}.{info["pid"]}.{time.monotonic_ns()}.tmp'
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, self.path)
            return True
        except FileExistsError:
            return False
        except OSError:  # no hard links on this file system
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY,
                             0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, 'w', encoding='utf-8') as f:
                f.write(text)
            return True
        finally:
            os.unlink(tmp)

    def _remove_stale(self, info: Dict[str, Any], pid: int) -> None:
        """Remove the lock judged stale from ``info``. It is renamed aside
        first and checked: if another run had replaced it meanwhile, that
        run's lock is put back."""
        aside = f'{self.path}.{pid}.stale'
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            return
        try:
            with open(aside, encoding='utf-8') as f:
                moved = json.load(f)
        except (OSError, ValueError):
            moved = {}
        if moved and moved != info:
            try:
                os.link(aside, self.path)
            except OSError:
                pass  # a third run holds it now; the next try sees it
        os.unlink(aside)

    def _stale_reason(self, info: Dict[str, Any]) -> Optional[str]:
        """Why the lock ``info`` may be taken over, or None."""
        here = info.get('host') == socket.gethostname()
        pid = info.get('pid')
        if here and isinstance(pid, int):
            if not process_alive(pid, info.get('pid_start')):
                return 'its process is gone'
            return None
        if self.resume:
            return ('--resume was given and its holder cannot be checked '
                    'from this host')
        return None

    def acquire(self) -> 'WorkDirLock':
        """Take the lock.

        Raises:
            WorkDirLockedError: If another run holds it, naming the holder
                and what to do.
        """
        from .io import prepare_output_dir
        prepare_output_dir(self.work_dir, '--work-dir')
        own = self._own()
        for _ in range(3):
            if self._create(own):
                self.info = own
                return self
            info = self._read()
            if info is None:
                continue  # released meanwhile: try again
            reason = self._stale_reason(info)
            if reason is None:
                break
            self.logger(f'work dir {self.work_dir}: taking over the lock of '
                        f'a run that ended ({holder_text(info)}): {reason}')
            self._remove_stale(info, own['pid'])
        else:
            info = self._read() or {}
        raise WorkDirLockedError(self._message(info))

    def _message(self, info: Dict[str, Any]) -> str:
        if not info:
            who = ('an unreadable lock (not written by this version, or '
                   'edited)')
        else:
            who = f'another run ({holder_text(info)})'
        here = info.get('host') == socket.gethostname()
        advice = (
            'Use another --work-dir, or wait until that run ends' +
            ('' if here else
             '; if it is no longer running (another node, or a crash), '
             'resume with --resume, which takes over the lock') +
            f'. Delete {self.path} only if you are sure no run uses it')
        return (f'work dir {self.work_dir!r} is in use by {who}; a second '
                f'run would overwrite its checkpoints and results. {advice}')

    def release(self) -> None:
        """Remove the lock if this process holds it (idempotent)."""
        if self.info is None:
            return
        info = self._read()
        if info and info.get('pid') == self.info['pid'] and info.get(
                'host') == self.info['host']:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        self.info = None

    def __enter__(self) -> 'WorkDirLock':
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def launcher_rank(launcher: str, env: Optional[Dict[str, str]] = None) -> int:
    """This process's global rank before the process group exists, from the
    launcher's environment (0 without a launcher).

    Args:
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        env (dict, optional): The environment (default ``os.environ``).
    """
    env = os.environ if env is None else env
    names = dict(
        pytorch=('RANK', ),
        slurm=('SLURM_PROCID', 'RANK'),
        mpi=('OMPI_COMM_WORLD_RANK', 'PMI_RANK', 'RANK')).get(launcher, ())
    for name in names:
        if env.get(name, '').strip().isdigit():
            return int(env[name])
    return 0
