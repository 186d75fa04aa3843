"""Fixtures of the experiments tests."""
import os.path as osp

import pytest

from helpers import REPO_ROOT
from helpers.estimators import synthetic_table


@pytest.fixture(scope='session')
def lut(tmp_path_factory) -> str:
    """A synthetic latency table of the demo space (hashed costs per op)."""
    from densenas_mm.apis.random_arch import build_search_mutator
    mutator = build_search_mutator(
        osp.join(REPO_ROOT, 'configs', 'densenas',
                 'densenas_supernet-demo_1xb32-20e_digits.py'))
    path = str(tmp_path_factory.mktemp('lut') / 'demo.json')
    synthetic_table(mutator.space, batch_size=32).save(path)
    return path
