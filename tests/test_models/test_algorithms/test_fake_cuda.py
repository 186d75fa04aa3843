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
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import densenas_mm  # noqa: F401
from densenas_mm.models.algorithms.steps import search_batch
from densenas_mm.registry import MODELS
from densenas_mm.search_space import load_preset

from helpers import REPO_ROOT
from helpers.fake_cuda import CrossDeviceError, FakeCudaMode
from helpers.search import fake_batch

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


def _build(config: str, preset, monkeypatch):
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('densenas_fake_cuda', scope_name='mmcls')
    monkeypatch.chdir(REPO_ROOT)
    cfg = Config.fromfile(osp.join(CFG, config))
    model = copy.deepcopy(cfg.model)
    if preset is not None:
        space = load_preset(preset)
        model.architecture.backbone.search_space = space.to_dict()
        model.architecture.head.update(
            in_channels=space.last_dim, num_classes=space.num_classes)
    if preset is not None or not osp.isfile(
            osp.join(REPO_ROOT, str(model.estimator.get('lut')))):
        # no table shipped for this space: the FLOPs cost (same code path)
        model.estimator.update(metric='flops', lut=None)
    torch.manual_seed(0)
    algo = MODELS.build(model)
    optim = build_optim_wrapper(algo, copy.deepcopy(cfg.optim_wrapper))
    return algo, optim


def _batch(n: int, px: int, classes: int, seed: int):
    batch = fake_batch(n, seed=seed, num_classes=classes)
    batch['inputs'] = [
        torch.nn.functional.interpolate(x[None].float(),
                                        size=(px, px)).to(torch.uint8)[0]
        for x in batch['inputs']
    ]
    return batch


@pytest.mark.parametrize('config,preset,px', CASES)
def test_steps_snapshot_and_derivation_stay_on_the_device(
        config, preset, px, monkeypatch):
    torch.set_num_threads(1)
    algo, optim = _build(config, preset, monkeypatch)
    classes = algo.architecture.head.num_classes
    mode = FakeCudaMode()
    with mode:
        mode.place(algo)
        arch_params = list(algo.mutator.arch_params.values())
        assert arch_params and all(p.device.type == 'cuda'
                                   for p in arch_params)
        for k, phase in enumerate(('warmup', 'weight', 'arch')):
            batch = search_batch(_batch(2, px, classes, k), phase, seed=k)
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
