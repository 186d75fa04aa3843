"""Timing tests of this folder run on one CPU thread."""
import pytest


@pytest.fixture(autouse=True, scope='module')
def _single_thread(one_cpu_thread):
    """See ``one_cpu_thread`` in tests/conftest.py."""
