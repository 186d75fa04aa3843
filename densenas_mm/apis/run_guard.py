"""What guards a training run from the outside: the work-dir lock (rank 0
only) and one clear message when a distributed collective times out or a
rank's connection closes.

:func:`~.launch.run_train` holds :func:`work_dir_lock` around the run and
passes a failed run's ``RuntimeError`` through :func:`raise_rank_failure`.
"""
import logging
from contextlib import contextmanager
from typing import Any, Iterator

from mmengine.config import Config


def raise_rank_failure(runner: Any, cfg: Config, err: RuntimeError) -> None:
    """Re-raise a distributed timeout or closed connection inside training
    as one :class:`RankTimeoutError` message (where, the timeout, what to
    do); anything else is left to the caller."""
    from densenas_mm.models.algorithms.ddp import (RankTimeoutError,
                                                   dist_timeout,
                                                   is_rank_failure,
                                                   rank_failure_message)
    if isinstance(err, RankTimeoutError) or not is_rank_failure(err):
        return
    where = (f'a collective operation after {runner.iter} training '
             f'iteration(s) ({runner.epoch} epoch(s) done)')
    raise RankTimeoutError(rank_failure_message(
        where, err, dist_timeout(cfg))) from err


@contextmanager
def work_dir_lock(cfg: Config) -> Iterator[None]:
    """Hold the lock of ``cfg.work_dir`` in rank 0 while the block runs
    (:class:`~densenas_mm.utils.work_dir_lock.WorkDirLock`; other ranks
    take none). A resumed run (``cfg.resume``) takes over a lock whose
    holder cannot be seen alive.

    Raises:
        WorkDirLockedError: If another run holds the work dir.
    """
    from mmengine.logging import print_log

    from densenas_mm.utils.work_dir_lock import WorkDirLock, launcher_rank
    if launcher_rank(cfg.get('launcher', 'none')) != 0:
        yield
        return
    lock = WorkDirLock(
        cfg.work_dir,
        resume=bool(cfg.get('resume', False)),
        logger=lambda msg: print_log(
            msg, logger='current', level=logging.WARNING))
    with lock:
        yield
