"""Seeds derived from positions, and RNGs seeded for one block of code.

A search is exactly resumable when every random draw is a function of
where it happens (run seed, epoch, step or sample index) rather than of
how many draws came before: :func:`derive_seed` turns such a position into
a seed (op sampling, data augmentation), :func:`seeded_rngs` runs a block
with Python's, NumPy's and torch's global generators seeded by it and puts
their previous states back afterwards; :func:`preserved_rngs` only puts the
states back (a block that draws but must not shift later draws).
"""
import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch


def derive_seed(*position: int) -> int:
    """A 63-bit seed that depends only on ``position`` (non-negative ints).

    NumPy's ``SeedSequence`` mixes the numbers, so neighbouring positions
    give unrelated seeds.

    Raises:
        ValueError: If a number is negative or not an int.
    """
    if not position or any(not isinstance(p, (int, np.integer)) or p < 0
                           for p in position):
        raise ValueError('derive_seed needs one or more non-negative ints, '
                         f'got {position}')
    seq = np.random.SeedSequence([int(p) for p in position])
    return int(seq.generate_state(1, dtype=np.uint64)[0] >> 1)


@contextmanager
def preserved_rngs() -> Iterator[None]:
    """Put the states of ``random``, ``numpy.random`` and torch's CPU
    generator back after the block, whatever it drew (also on error).

    Example:
        >>> with preserved_rngs():
        ...     _ = torch.rand(3)  # later draws are as without this line
    """
    states = (random.getstate(), np.random.get_state(),
              torch.get_rng_state())
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.default_generator.manual_seed(seed)


@contextmanager
def seeded_rngs(seed: int, restore: bool = True) -> Iterator[None]:
    """Seed ``random``, ``numpy.random`` and torch's CPU generator with
    ``seed`` for the block, then (``restore``) put their states back.

    Transforms of the OpenMMLab stack draw from these global generators;
    seeding them per sample makes a sample's augmentation independent of
    the worker process that loads it and of the samples loaded before.
    Restoring the states (:func:`preserved_rngs`) keeps the block
    invisible to the code around it (with ``num_workers=0`` that is the
    training process itself); a data worker, whose generators serve
    nothing else, can skip it (saving and restoring NumPy's state costs
    more than the seeding).

    Only the CPU generator of torch is seeded (``torch.manual_seed`` would
    also visit every accelerator's, about 0.5 ms a call).
    """
    if not restore:
        _seed_all(seed)
        yield
        return
    with preserved_rngs():
        _seed_all(seed)
        yield
