"""What a DenseNAS step is told: its phase, its sampling seed, its batch.

The search loop tags every batch with :func:`search_batch`; the algorithm's
``train_step`` reads the tag, so the phase travels explicitly from the loop
to the algorithm and on to its loss. Phases:

- ``'warmup'``: a weight step before architecture updates start (one op
  sampled uniformly per mixed op);
- ``'weight'``: a weight step of the search (one op sampled from
  softmax(alpha));
- ``'arch'``: an architecture step (two ops sampled from softmax(alpha),
  cost term on).
"""
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterable, Iterator

import torch
from torch.nn.modules.batchnorm import _BatchNorm

from densenas_mm.utils.seeding import derive_seed

PHASES = ('warmup', 'weight', 'arch')
#: Mutator sampling mode of each step phase.
SAMPLING_OF_PHASE = dict(warmup='uniform', weight='sample', arch='pair')
# Warm-up and search weight steps draw from one seed stream (both are steps
# of the weight pass); 'untagged': weight steps on plain batches.
_SEED_STREAM = {'untagged': 0, 'warmup': 1, 'weight': 1, 'arch': 2}


def step_seed(base: int, phase: str, epoch: int, index: int) -> int:
    """A seed for one step's op sampling, equal on every rank.

    Derived from the run's seed, the pass (weight or architecture), the
    epoch and the batch index (all known identically on every rank and after
    a resume), so sampling needs no communication and a resumed run replays
    the same ops.
    """
    if min(base, epoch, index) < 0:
        raise ValueError(f'step_seed needs non-negative base, epoch and '
                         f'index, got {base}, {epoch}, {index}')
    return derive_seed(base, _SEED_STREAM[phase], epoch, index)


def search_batch(batch: Any, phase: str, seed: int) -> Dict[str, Any]:
    """Tag a dataloader batch for ``DenseNAS.train_step``."""
    if phase not in PHASES:
        raise ValueError(f'phase must be one of {PHASES}, got {phase!r}')
    return dict(densenas_phase=phase, densenas_seed=seed, batch=batch)


@contextmanager
def batch_stat_bn(module: torch.nn.Module) -> Iterator[None]:
    """Make BN layers use batch statistics without updating running ones."""
    saved = []
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            tracked = (None if m.num_batches_tracked is None else
                       m.num_batches_tracked.clone())
            saved.append((m, m.training, m.momentum, tracked))
            m.train()
            m.momentum = 0.0
    try:
        yield
    finally:
        # num_batches_tracked counts even with momentum 0: restore it so
        # that validating leaves the model (and its checkpoint) unchanged
        for m, training, momentum, tracked in saved:
            m.train(training)
            m.momentum = momentum
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)


BN_BUFFERS = ('running_mean', 'running_var', 'num_batches_tracked')


def bn_state(module: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """Copies of the running statistics of every BN layer of ``module``,
    keyed as in its ``state_dict`` (restore with :func:`load_bn_state`).
    """
    return {
        f'{prefix}.{name}' if prefix else name: buf.detach().clone()
        for prefix, m in module.named_modules()
        if isinstance(m, _BatchNorm)
        for name in BN_BUFFERS
        for buf in (getattr(m, name), ) if buf is not None
    }


@torch.no_grad()
def load_bn_state(module: torch.nn.Module,
                  state: Dict[str, torch.Tensor]) -> None:
    """Put BN running statistics saved by :func:`bn_state` back in place.

    Raises:
        KeyError: If ``state`` names a buffer ``module`` does not have (it
            was saved from another model).
    """
    buffers = dict(module.named_buffers())
    missing = sorted(set(state) - set(buffers))
    if missing:
        raise KeyError(f'load_bn_state: {len(missing)} saved BN buffers are '
                       f'not in the module, e.g. {missing[0]!r}')
    for name, saved in state.items():
        buffers[name].copy_(saved)


@torch.no_grad()
def recalibrate_bn(module: torch.nn.Module, run: Callable[[Any], Any],
                   batches: Iterable[Any]) -> int:
    """Re-estimate the running statistics of every BN layer of ``module``
    on ``batches``, as SPOS and OFA do before evaluating a subnet.

    The statistics are reset, then every BN layer runs in training mode
    with ``momentum=None`` (a cumulative average: after the last batch each
    running mean / variance is the average over the batches of their
    batch mean / unbiased variance) while ``run(batch)`` is called without
    gradients for each batch. Afterwards every BN layer has its former mode
    and momentum again; the other layers' modes are not touched. A BN layer
    that no batch reaches keeps the reset statistics (mean 0, variance 1).

    Args:
        module (nn.Module): The model (or part) whose BN layers to reset.
        run (Callable): Runs the model on one batch (e.g. its forward).
        batches (Iterable): The batches.

    Returns:
        int: How many batches ran.

    Raises:
        ValueError: If ``batches`` is empty (the statistics would stay
            reset).
    """
    layers = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    saved = [(m, m.training, m.momentum) for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    count = 0
    try:
        for batch in batches:
            run(batch)
            count += 1
    finally:
        for m, training, momentum in saved:
            m.train(training)
            m.momentum = momentum
    if count == 0:
        raise ValueError('BN recalibration needs at least one batch')
    return count
