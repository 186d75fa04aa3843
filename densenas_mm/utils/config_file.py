"""Reading config files with their problems named: a missing file, a
directory, a syntax error (by file and line, also in a ``_base_`` file the
config inherits; mmengine's own message says ``"<unknown>"``)."""
import ast
import os.path as osp
from typing import Optional

from mmengine.config import Config

from .options import ConfigError

#: What ``Config.fromfile`` reads.
CONFIG_SUFFIXES = ('.py', '.yml', '.yaml', '.json')


def _syntax_error_site(path: str, seen: Optional[set] = None) -> Optional[str]:
    """``file:line: message`` of the first syntax error in a config or the
    ``_base_`` files it names (None if they all parse)."""
    seen = set() if seen is None else seen
    path = osp.abspath(path)
    if path in seen or not osp.isfile(path) or not path.endswith('.py'):
        return None
    seen.add(path)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as err:
        return f'{path}:{err.lineno}: {err.msg}' + (
            f'\n    {err.text.rstrip()}' if err.text else '')
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_'
                for t in node.targets):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                return None
            for base in [bases] if isinstance(bases, str) else bases:
                site = _syntax_error_site(
                    osp.join(osp.dirname(path), base), seen)
                if site:
                    return site
    return None


def load_config(path: str) -> Config:
    """``Config.fromfile`` with the file's problems named.

    Raises:
        ConfigError: If ``path`` is not a config file, or it or a
            ``_base_`` file it inherits has a syntax error (the file, line
            and text).
    """
    if osp.isdir(path):
        raise ConfigError(f'config {path!r} is a directory, expected a .py '
                          'config file')
    if not osp.isfile(path):
        raise ConfigError(f'config file {path!r} does not exist')
    if osp.splitext(path)[1] not in CONFIG_SUFFIXES:
        raise ConfigError(f'config {path!r} is not a config file: expected '
                          f'one of {", ".join(CONFIG_SUFFIXES)}')
    try:
        return Config.fromfile(path)
    except SyntaxError as err:
        site = _syntax_error_site(path) or f'{path}: {err}'
        raise ConfigError(f'syntax error in config {site}') from None
