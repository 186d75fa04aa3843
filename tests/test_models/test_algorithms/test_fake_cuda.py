"""Every shipped search config runs its steps with model and data on a
(fake) GPU: no tensor of a step, of the expected cost, of the epoch
snapshot or of the derivation is left on the CPU.

The fake ``cuda:0`` is :class:`helpers.fake_cuda.FakeCudaMode` (real data
on the CPU, CUDA's same-device rule enforced on every torch call; its
module doc says why PyTorch's ``FakeTensorMode`` cannot run these steps on
a CPU-only build: its autograd aborts on a fake ``cuda`` tensor and its
tensors hold no data for op sampling and derivation). Latency-table
numbers (``SpaceCosts.tensors``) are checked the same way: they are built
on the device of the route probabilities.

Sizes: the demo configs at their 32 px, the paper's 224 px spaces at
batch 2 and a 64 px input (their supernets are fully convolutional up to
global pooling, so every op and route runs as at 224 px; the ops' shapes
are what the 224 px latency table is keyed by, and the table lookups do
not depend on the batch), and the 32 px MBV2 / ResNet spaces swapped into
the paper's configs.
"""
import os.path as osp

import pytest
import torch
import densenas_mm  # noqa: F401
from densenas_mm.models.algorithms.steps import search_batch

from helpers import REPO_ROOT
from helpers.fake_cuda import (CrossDeviceError, FakeCudaMode, build_search,
                               resized_batch)

CFG = osp.join(REPO_ROOT, 'configs', 'densenas')
DEMO_DIGITS = 'densenas_supernet-demo_1xb32-20e_digits.py'
DEMO_FMNIST = 'densenas_supernet-demo_1xb32-20e_fmnist.py'
MBV2 = 'densenas_supernet-mbv2_4xb88-150e_in100.py'
R1 = 'densenas_supernet-resnet-r1_4xb128-70e_in100.py'
R2 = 'densenas_supernet-resnet-r2_4xb128-70e_in100.py'
# (config, swapped-in space preset, input px)
CASES = [
    (DEMO_DIGITS, None, 32),
    (DEMO_FMNIST, None, 32),
    (MBV2, None, 64),
    (R1, None, 64),
    (R2, None, 64),
    (MBV2, 'densenas_mbv2_32', 32),
    (R1, 'densenas_resnet_32', 32),
]


@pytest.mark.parametrize('config,preset,px', CASES)
def test_steps_snapshot_and_derivation_stay_on_the_device(
        config, preset, px, monkeypatch):
    torch.set_num_threads(1)
    algo, optim = build_search(osp.join(CFG, config), preset, monkeypatch)
    classes = algo.architecture.head.num_classes
    mode = FakeCudaMode()
    with mode:
        mode.place(algo)
        arch_params = list(algo.mutator.arch_params.values())
        assert arch_params and all(p.device.type == 'cuda'
                                   for p in arch_params)
        for k, phase in enumerate(('warmup', 'weight', 'arch')):
            batch = search_batch(resized_batch(2, px, classes, k), phase, seed=k)
            log = algo.train_step(batch, optim)
            assert all(torch.isfinite(v.float()).all() for v in log.values())
        # the arch step moved alpha/beta and left them on the device
        assert all(
            mode.on_cuda(p) and mode.on_cuda(p.grad) for p in arch_params
            if p.grad is not None)
        expected = algo.expected_cost()
        snap = algo.snapshot()
        derived = algo.mutator.derived_arch()
    assert expected > 0 and snap.expected_cost == pytest.approx(expected)
    assert snap.arch.to_dict() == derived.to_dict()
    assert len(derived.blocks) >= 1
    assert mode.ops > 1000


def test_a_cpu_constant_in_a_step_is_caught():
    """The checker itself: a CPU vector meeting a device tensor fails with
    CUDA's message; CPU scalars (0-dim) pass as on a GPU."""
    mode = FakeCudaMode()
    with mode:
        x = torch.ones(3)
        mode.place(x)
        assert x.device.type == 'cuda'
        assert (x * torch.tensor(2.0)).device.type == 'cuda'
        y = torch.zeros(3, device=x.device)
        assert mode.on_cuda(y) and mode.on_cuda(x + y)
        assert not mode.on_cuda(x.cpu()) and mode.on_cuda(x.cpu().cuda())
        with pytest.raises(CrossDeviceError, match='cuda:0 and cpu'):
            x * torch.ones(3)
