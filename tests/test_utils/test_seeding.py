"""Seeds from positions and the RNG blocks of utils.seeding."""
import random

import numpy as np
import pytest
import torch

from densenas_mm.utils import derive_seed, preserved_rngs, seeded_rngs


def _seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _draws():
    return (random.random(), float(np.random.rand()), float(torch.rand(1)))


def test_derive_seed_depends_on_position_only():
    assert derive_seed(3, 1, 7) == derive_seed(3, 1, 7)
    seeds = {derive_seed(0, 0, i) for i in range(100)}
    assert len(seeds) == 100
    assert all(0 <= s < 2**63 for s in seeds)
    for bad in ((), (-1, ), (1.5, )):
        with pytest.raises(ValueError, match='non-negative ints'):
            derive_seed(*bad)


def test_preserved_rngs_puts_every_state_back():
    _seed_all(1)
    expected = _draws()
    _seed_all(1)
    with preserved_rngs():
        inside = _draws()
        _draws()
    assert _draws() == expected
    assert inside == expected  # the block itself starts from the state
    # also when the block raises
    _seed_all(2)
    expected = _draws()
    _seed_all(2)
    with pytest.raises(RuntimeError):
        with preserved_rngs():
            _draws()
            raise RuntimeError('boom')
    assert _draws() == expected


def test_seeded_rngs_seeds_and_restores():
    with seeded_rngs(5):
        first = _draws()
    with seeded_rngs(5):
        again = _draws()
    assert first == again
    _seed_all(9)
    expected = _draws()
    _seed_all(9)
    with seeded_rngs(5):
        _draws()
    assert _draws() == expected
    # restore=False leaves the seeded streams running
    with seeded_rngs(5, restore=False):
        pass
    assert _draws() == first
