"""Atomic file writes for results, tables, architectures and checkpoints.

Every writer of the project goes through :func:`atomic_path`: the content is
written to a temporary file in the destination's folder, flushed to disk,
given the usual umask-derived mode (``mkstemp`` would leave 0600) and renamed
over the destination (atomic on POSIX), so readers and a crash half-way never
see a partial file.
"""
import json
import os
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str, suffix: str = '.tmp') -> Iterator[str]:
    """Yield a temporary path that replaces ``path`` on success.

    Args:
        path (str): The destination file.
        suffix (str): Suffix of the temporary file (some writers, e.g.
            matplotlib, pick the format from it).

    Yields:
        str: Where to write. Removed if the block raises.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix='.' + os.path.basename(path) + '.', suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
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
