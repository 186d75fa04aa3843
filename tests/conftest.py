"""Shared pytest fixtures and markers of the densenas_mm test suite."""
import os
import os.path as osp
import socket
import sys
from typing import Dict

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_DATA_ENV = 'DENSENAS_DEMO_DATA'


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers (also declared in setup.cfg)."""
    config.addinivalue_line(
        'markers', 'slow: end-to-end runs in subprocesses (part of make test)')


@pytest.fixture(scope='session')
def demo_data_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The digits demo dataset, built once per test session.

    Set ``DENSENAS_DEMO_DATA`` to reuse an existing build instead.
    """
    from densenas_mm.datasets import build_demo_data
    root = os.environ.get(DEMO_DATA_ENV)
    if not root:
        root = str(tmp_path_factory.mktemp('data') / 'demo_digits')
    return build_demo_data(root, progress=False).root


@pytest.fixture(scope='session')
def tool_env(demo_data_root: str) -> Dict[str, str]:
    """Environment for tool subprocesses: demo data root, one thread each."""
    env = dict(os.environ)
    env[DEMO_DATA_ENV] = demo_data_root
    env.setdefault('OMP_NUM_THREADS', '1')
    env['PYTHON'] = sys.executable
    env['PYTHONWARNINGS'] = 'ignore'
    return env


@pytest.fixture(scope='module')
def one_cpu_thread():
    """Time on one thread: on a shared 2-core machine two OpenMP threads per
    process make every timed call wait for a busy core (20-40x slower)."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def free_port() -> int:
    """A TCP port that was free a moment ago (for torchrun rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
