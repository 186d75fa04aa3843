"""The experiment tools' end-to-end tests: the digits demo configs, a
``tools/benchmark/`` tool set up on the demo data, and its resume check."""
import os.path as osp
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, Sequence

import pytest

from helpers import REPO_ROOT
from helpers.tools import load_tool

#: The digits demo search config and its subnet (retrain) config.
DIGITS_SEARCH = osp.join(REPO_ROOT, 'configs', 'densenas',
                         'densenas_supernet-demo_1xb32-20e_digits.py')
DIGITS_SUBNET = osp.join(REPO_ROOT, 'configs', 'densenas', 'subnets',
                         'densenas_subnet-demo_1xb32-10e_digits.py')


def demo_tool(name: str, monkeypatch: pytest.MonkeyPatch,
              demo_data_root: str) -> ModuleType:
    """``tools/benchmark/<name>.py`` as a module, with the test's
    environment on the digits demo data and one OpenMP thread.

    Args:
        name (str): The tool's file name without ``.py``.
        monkeypatch (pytest.MonkeyPatch): The test's monkeypatch.
        demo_data_root (str): The demo dataset (the fixture's).
    """
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    return load_tool(f'benchmark/{name}.py')


def retrain_tool_args(lut: str, work_dir: Path,
                      options: Sequence[str]) -> List[str]:
    """Command line of a tool that searches the digits space and retrains
    on its subnet config: the configs, the table, ``options``, the work
    dir."""
    return [DIGITS_SEARCH, '--subnet-config', DIGITS_SUBNET, '--lut', lut,
            *options, '--work-dir', str(work_dir)]


def assert_resume_runs_nothing(tool: ModuleType, args: List[str],
                               work_dir: Path,
                               result: Dict[str, Any]) -> Dict[str, Any]:
    """Call ``tool`` with ``args`` again: no new run, no log rewritten,
    the same nets as ``result``.

    Returns:
        dict: The second call's result.
    """
    logs = sorted(work_dir.rglob('*.log'))
    stamps = [p.stat().st_mtime_ns for p in logs]
    again = tool.main(args)
    assert again['new_runs'] == 0
    assert [p.stat().st_mtime_ns for p in logs] == stamps
    assert again['nets'] == result['nets']
    return again
