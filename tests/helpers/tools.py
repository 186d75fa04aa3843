"""Load a command line tool of ``tools/`` as a Python module."""
import importlib.util
import os.path as osp
from types import ModuleType

from helpers import REPO_ROOT


def load_tool(relpath: str) -> ModuleType:
    """Import ``tools/<relpath>`` (e.g. ``'analysis/get_flops.py'``).

    Args:
        relpath (str): Path below ``tools/``, with or without ``.py``.

    Returns:
        ModuleType: The executed module (its ``main`` / ``parse_args``).
    """
    if not relpath.endswith('.py'):
        relpath += '.py'
    path = osp.join(REPO_ROOT, 'tools', relpath)
    name = 'densenas_tool_' + relpath[:-3].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
