"""Shared pytest fixtures and markers of the densenas_mm test suite."""
import logging
import os
import os.path as osp
import socket
import sys
import subprocess
from typing import Dict, Tuple

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_DATA_ENV = 'DENSENAS_DEMO_DATA'


#: Modules that share a session fixture too costly to build twice (the
#: reduced demo in the documents' workspace): one xdist worker runs them.
SHARED_MODULES = ('tests/test_docs_run.py', 'tests/test_tools/test_demo.py')


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers (also declared in setup.cfg); one torch thread
    per xdist worker (two workers on two cores: a second OpenMP thread per
    process would wait for a busy core)."""
    config.addinivalue_line(
        'markers', 'slow: end-to-end runs in subprocesses (part of make test)')
    if os.environ.get('PYTEST_XDIST_WORKER'):
        import torch
        torch.set_num_threads(1)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadscope`` (``make test``) by module: a module's tests run
    on one worker (its module fixtures are built once), and
    :data:`SHARED_MODULES` count as one module."""
    if config.getvalue('dist') != 'loadscope':
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split('::', 1)[0]
            return 'shared-session' if module in SHARED_MODULES else module

    return ModuleScheduling(config, log)


@pytest.fixture(autouse=True)
def log_streams_outlive_the_test():
    """After each test, point the stream handlers left writing into a closed
    stream at the current ``sys.stdout``.

    mmengine's ``MMLogger`` binds its stream handler to ``sys.stdout`` when
    it is made; made in a test that captures output (``capsys``), it would
    write into that test's closed capture in every later test of the
    process and put ``--- Logging error ---`` on their stderr (which test
    follows which depends on the order, e.g. on the xdist worker).
    """
    yield
    from mmengine.logging import MMLogger
    loggers = [logging.getLogger(), *MMLogger._instance_dict.values()] + [
        lg for lg in logging.Logger.manager.loggerDict.values()
        if isinstance(lg, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            stream = getattr(handler, 'stream', None)
            if (isinstance(handler, logging.StreamHandler)
                    and not isinstance(handler, logging.FileHandler)
                    and getattr(stream, 'closed', False)):
                with handler.lock:
                    handler.stream = sys.stdout


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


@pytest.fixture(scope='session')
def docs_workspace(tmp_path_factory: pytest.TempPathFactory,
                   tool_env: Dict[str, str]) -> Tuple[str, Dict[str, str]]:
    """A copy of the checkout where the documents' commands run, and their
    environment (see ``tests/helpers/doc_runs.py``)."""
    from helpers.doc_runs import docs_env, fashion_mnist_root, make_workspace
    root = tmp_path_factory.mktemp('docs')
    workspace = make_workspace(str(root / 'checkout'))
    return workspace, docs_env(tool_env,
                               fashion_mnist_root(str(root / 'fmnist')))


@pytest.fixture(scope='session')
def reduced_demo(docs_workspace) -> Tuple[str, subprocess.CompletedProcess,
                                          float]:
    """``tools/demo.sh`` reduced, run once per session in the docs
    workspace (``work_dirs/demo``; the latency table under the demo's
    default name): its work dir, process and seconds. Used by the demo
    test and by the documents' ``make demo``."""
    import time
    from helpers.doc_runs import run_demo
    workspace, env = docs_workspace
    start = time.monotonic()
    proc = run_demo(workspace, env)
    return (osp.join(workspace, 'work_dirs', 'demo'), proc,
            time.monotonic() - start)


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
