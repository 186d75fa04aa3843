"""Where ``--resume`` continues from: the ``last_checkpoint`` pointer of a
work dir (written relative to it, so a copied work dir resumes from its own
checkpoint) and the checks that a resume has something intact to resume.
"""
import os
from typing import Optional

from .checkpoint import CheckpointError, intact_checkpoints, is_intact


def last_checkpoint_text(path: str, work_dir: str) -> str:
    """What ``work_dir/last_checkpoint`` holds for checkpoint ``path``: the
    path relative to the work dir when the checkpoint is inside it (a
    copied or moved work dir then resumes from its own checkpoint), else
    the path as it is."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(work_dir))
    return path if rel.startswith(os.pardir) else rel


def read_last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``work_dir/last_checkpoint`` names (a relative entry
    resolved against the work dir; older runs wrote absolute paths), ``''``
    for an empty file, None without the file."""
    pointer = os.path.join(work_dir, 'last_checkpoint')
    if not os.path.isfile(pointer):
        return None
    with open(pointer, encoding='utf-8') as f:
        target = f.read().strip()
    if target and not os.path.isabs(target) and '://' not in target:
        target = os.path.join(work_dir, target)
    return target


def resolve_resume(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` (without a path) continues from.

    Reads ``work_dir/last_checkpoint`` (:func:`read_last_checkpoint`), but
    refuses an empty file, or one naming a missing or truncated
    checkpoint, with the newest intact checkpoint to use instead.

    Returns:
        str | None: The checkpoint; None when ``last_checkpoint`` does not
        exist.

    Raises:
        CheckpointError: Naming the file and the intact alternative.
    """
    pointer = os.path.join(work_dir, 'last_checkpoint')
    target = read_last_checkpoint(work_dir)
    if target is None:
        return None
    folder = os.path.dirname(os.path.abspath(target)) if target else work_dir
    intact = intact_checkpoints(folder, target or None)
    instead = (f' Resume from the newest intact checkpoint with --resume '
               f'{intact[0]}' if intact else
               ' No intact epoch_N.pth / iter_N.pth is in the work dir; '
               'start without --resume')
    if not target:
        raise CheckpointError(
            f'{pointer} is empty: the save that wrote it was interrupted.' +
            instead)
    if not os.path.isfile(target):
        raise CheckpointError(f'{pointer} names {target!r}, which does not '
                              'exist.' + instead)
    if not is_intact(target):
        raise CheckpointError(f'{pointer} names {target!r}, which is '
                              'truncated or corrupt.' + instead)
    return target


def require_resume(work_dir: str) -> str:
    """:func:`resolve_resume` for ``--resume`` without a path: a work dir
    with nothing to resume is an error, not a fresh start.

    Raises:
        CheckpointError: Without ``last_checkpoint`` (naming an intact
            checkpoint of the folder, if any), or as
            :func:`resolve_resume`.
    """
    target = resolve_resume(work_dir)
    if target is not None:
        return target
    intact = intact_checkpoints(work_dir)
    found = (f'; it holds {intact[0]}: resume from it with --resume '
             f'{intact[0]}' if intact else
             ' and no intact epoch_N.pth / iter_N.pth. Start without '
             '--resume (a fresh run), or pass --resume PATH of the '
             'checkpoint to continue')
    raise CheckpointError(
        f'--resume: nothing to resume in work dir {work_dir!r}: it has no '
        f'last_checkpoint{found}')
