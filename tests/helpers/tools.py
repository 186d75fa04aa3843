"""Load a command line tool of ``tools/`` as a Python module; run Python
code in a fresh interpreter; the options that shrink tool runs."""
import importlib.util
import os.path as osp
import subprocess
import sys
from types import ModuleType

from helpers import REPO_ROOT

#: ``--cfg-options`` that shrink the baseline config's runs: 64 train
#: samples / batch 16 = 4 iterations per epoch; 32 val and test samples.
BASELINE_SHRINK = [
    'train_dataloader.batch_size=16',
    'train_dataloader.num_workers=0',
    'train_dataloader.dataset.indices=64',
    'val_dataloader.batch_size=16',
    'val_dataloader.num_workers=0',
    'val_dataloader.dataset.indices=32',
    'test_dataloader.batch_size=16',
    'test_dataloader.num_workers=0',
    'test_dataloader.dataset.indices=32',
    'default_hooks.logger.interval=1',
]


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


def run_python(code: str, timeout: int = 300) -> str:
    """stdout of ``code`` run by a fresh interpreter at the repository
    root (fails the test, with its stderr, if the code fails)."""
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         cwd=REPO_ROOT,
                         timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout
