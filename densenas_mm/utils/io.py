"""Atomic file writes for results, tables, architectures and checkpoints.

Every writer of the project goes through :func:`atomic_path`: the content is
written to a temporary file in the destination's folder, flushed to disk,
given the usual umask-derived mode (``mkstemp`` would leave 0600) and renamed
over the destination (atomic on POSIX; the folder is fsynced after the
rename), so readers and a crash half-way never see a partial file. A killed
writer leaves only a hidden ``.NAME.XXXX.tmp`` beside the destination.
"""
import json
import os
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator, Optional


class OutputPathError(ValueError):
    """An output path names something that cannot be written there."""


def directory_given(path: str, what: str, expected: str) -> Optional[str]:
    """The message for an input file path that names a directory (None
    when it does not).

    Args:
        path (str): The path given.
        what (str): What it should be, e.g. ``'architecture file'``.
        expected (str): The file kinds expected, e.g. ``'.yaml/.json'``.
    """
    if not os.path.isdir(path):
        return None
    return (f'{what} {path!r} is a directory, expected a {expected} file; '
            'pass the file inside it')


def prepare_output_dir(path: str,
                       what: str = 'output directory',
                       create: bool = True) -> str:
    """Create ``path`` as a directory, or fail naming the problem.

    Args:
        path (str): The directory (created with its parents if missing).
        what (str): How the tool calls it (e.g. ``'--out-dir'``).
        create (bool): False: only check that it can be created (nothing
            is written).

    Returns:
        str: ``path``.

    Raises:
        OutputPathError: If ``path`` or one of its parents is a file.
    """
    path = os.fspath(path)
    probe = os.path.abspath(path)
    while probe and not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if probe and not os.path.isdir(probe):
        named = '' if probe == os.path.abspath(path) else f' ({probe})'
        raise OutputPathError(
            f'{what} {path!r} cannot be a directory: it{named} is an '
            'existing file. Pass a directory path (created if missing) or '
            'move the file away')
    if create:
        os.makedirs(path, exist_ok=True)
    return path


def prepare_output_file(path: str, what: str = 'output file') -> str:
    """Check that ``path`` can be written as a file; create its folder.

    Raises:
        OutputPathError: If ``path`` is a directory or a parent is a file.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise OutputPathError(f'{what} {path!r} is a directory; pass a file '
                              'path')
    prepare_output_dir(os.path.dirname(os.path.abspath(path)),
                       f'the folder of {what} {path!r}')
    return path


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (no-op where folders cannot be
    opened, e.g. on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str, suffix: str = '.tmp') -> Iterator[str]:
    """Yield a temporary path that replaces ``path`` on success.

    Args:
        path (str): The destination file.
        suffix (str): Suffix of the temporary file (some writers, e.g.
            matplotlib, pick the format from it).

    Yields:
        str: Where to write. Removed if the block raises.

    Raises:
        OutputPathError: If ``path`` is a directory or a parent is a file.
    """
    path = prepare_output_file(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(
        prefix='.' + os.path.basename(path) + '.', suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
        _fsync_folder(folder)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(text: str, path: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)


def dump_yaml_atomic(data: Any, path: str) -> None:
    """Write ``data`` as YAML (block style, keys in insertion order)."""
    import yaml
    write_text_atomic(
        yaml.safe_dump(data, sort_keys=False, default_flow_style=None), path)


def dump_json_atomic(data: Any, path: str, indent: int = 1) -> None:
    """Write ``data`` as JSON."""
    write_text_atomic(json.dumps(data, indent=indent) + '\n', path)


def write_report(folder: str, stem: str, data: Any, text: str,
                 echo: bool = True) -> None:
    """An experiment's report: ``<stem>.json`` (``data``) and ``<stem>.md``
    (``text``) in ``folder``, both atomic; ``text`` printed when ``echo``."""
    dump_json_atomic(data, os.path.join(folder, f'{stem}.json'))
    write_text_atomic(text, os.path.join(folder, f'{stem}.md'))
    if echo:
        print(text, end='')
