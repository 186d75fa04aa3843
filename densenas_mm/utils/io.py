"""Atomic file writes for results, tables and architectures."""
import json
import os
import tempfile
from typing import Any


def write_text_atomic(text: str, path: str) -> None:
    """Write ``text`` to ``path`` so readers never see a partial file.

    The text goes to a temporary file in the same directory, is flushed and
    fsynced, then renamed over ``path`` (atomic on POSIX).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix='.' + os.path.basename(path) + '.', suffix='.tmp', dir=folder)
    try:
        # mkstemp creates 0600 files; give results the usual umask mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def dump_yaml_atomic(data: Any, path: str) -> None:
    """Write ``data`` as YAML (block style, keys in insertion order)."""
    import yaml
    write_text_atomic(
        yaml.safe_dump(data, sort_keys=False, default_flow_style=None), path)


def dump_json_atomic(data: Any, path: str, indent: int = 1) -> None:
    """Write ``data`` as JSON."""
    write_text_atomic(json.dumps(data, indent=indent) + '\n', path)
