"""Host-device synchronisations of a search step, counted on a fake GPU.

Every read of a device value by the host (``.item()``, ``.tolist()``,
``bool()``, ``.cpu()``, ...) waits for the GPU. The fake ``cuda:0`` of
:class:`helpers.fake_cuda.FakeCudaMode` records each such read of a
fake-device tensor, so the counts below are those a GPU run would make
inside ``DenseNAS.train_step`` (the loggers' reads of the returned values
come on top only where the step returns device tensors: with the checks on
it returns CPU values read in its one transfer).

Budget (issue 26): with the stop checks on, one read per weight step and
one per architecture step; with them off, none per weight step, and one
per architecture step (the updated alpha/beta that the next steps sample
from, read with the logged values). The first step that samples from alpha
after the model is placed reads it once more (nothing has been copied yet).
"""
import math
import os.path as osp

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.models.algorithms.steps import search_batch

from helpers import REPO_ROOT
from helpers.fake_cuda import FakeCudaMode, build_search, resized_batch
from helpers.search import changed, split_params

CONFIG = osp.join(REPO_ROOT, 'configs', 'densenas',
                  'densenas_supernet-demo_1xb32-20e_fmnist.py')
PHASES = ('warmup', 'arch', 'weight', 'arch', 'weight', 'arch', 'weight')


def _reads_per_step(algo, optim, mode, phases=PHASES):
    classes = algo.architecture.head.num_classes
    counts = []
    for k, phase in enumerate(phases):
        batch = search_batch(resized_batch(4, 32, classes, k), phase, seed=k)
        before = len(mode.host_reads)
        log = algo.train_step(batch, optim)
        counts.append(len(mode.host_reads) - before)
        assert all(math.isfinite(float(v)) for v in log.values())
    return counts


@pytest.mark.parametrize('checks', ['on', 'off'])
def test_reads_per_step(checks, monkeypatch):
    torch.set_num_threads(1)
    algo, optim = build_search(CONFIG, None, monkeypatch)
    if checks == 'off':
        algo.guards.check_finite = False
        algo.guards.divergence = None
    else:
        assert algo.guards.check_finite
    mode = FakeCudaMode()
    with mode:
        mode.place(algo)
        counts = _reads_per_step(algo, optim, mode)
    # warmup, the first arch step (+1: its sampling copies alpha once), then
    # steady weight / arch steps
    if checks == 'on':
        assert counts == [1, 2, 1, 1, 1, 1, 1], mode.host_reads
    else:
        assert counts == [0, 2, 0, 1, 0, 1, 0], mode.host_reads


def test_the_host_copy_follows_every_change_of_alpha(monkeypatch):
    """Sampling reads alpha again after it changed outside a step (a resume
    loads it with copy_); a step's own copy is reused, not re-read."""
    algo, optim = build_search(CONFIG, None, monkeypatch)
    mode = FakeCudaMode()
    with mode:
        mode.place(algo)
        _reads_per_step(algo, optim, mode, ('arch', ))
        mutator = algo.mutator
        before = len(mode.host_reads)
        mutator.set_sampling('sample', torch.Generator().manual_seed(0))
        assert len(mode.host_reads) == before  # the arch step's copy
        alias, param = next(iter(mutator.alphas().items()))
        with torch.no_grad():
            param.copy_(
                torch.tensor([0.0] * (param.numel() - 1) + [50.0],
                             device=param.device))
        mutator.set_sampling('sample', torch.Generator().manual_seed(0))
        assert len(mode.host_reads) == before + 1
        assert mutator.host_arch_params()[alias].tolist()[-1] == 50.0
        # softmax puts all mass on the last op: it is the one sampled
        assert mutator.ops_in_play(alias) == [param.numel() - 1]


def test_a_bad_arch_step_puts_alpha_and_beta_back():
    """The architecture step is checked after its update (one read); a stop
    restores alpha/beta, so the model holds what it held before the step."""
    from helpers.search import build_algorithm, build_optim, fake_batch
    algo = build_algorithm()
    optim = build_optim(algo)
    algo.train()
    algo.train_step(search_batch(fake_batch(seed=0), 'arch', 0), optim)
    with torch.no_grad():
        algo.architecture.head.fc.weight.fill_(math.nan)
    before = split_params(algo)
    with pytest.raises(FloatingPointError, match='non-finite loss.*arch step'):
        algo.train_step(search_batch(fake_batch(seed=1), 'arch', 1), optim)
    after = split_params(algo)
    assert changed(before['arch'], after['arch']) == []
    assert all(torch.isfinite(p).all()
               for p in algo.mutator.arch_params.values())
