"""Fixtures of the latency tests."""
import pytest
import torch


@pytest.fixture(autouse=True, scope='module')
def one_cpu_thread():
    """Time on one thread: on a shared 2-core machine two OpenMP threads per
    process make every timed call wait for a busy core (20-40x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
