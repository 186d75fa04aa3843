"""The CPU fast paths give the steps of the reference kernels and format.

The defaults (the grouped-convolution weight gradient of the demo space's
5x5 depthwise convs) against the reference setting (PyTorch's kernels),
from the same state with the same seeds: the same losses, gradients and
updates within float32 rounding. The opt-in channels-last CPU setting
computes the same function (equal in float64).
"""
import pytest
import torch
from helpers.search import build_algorithm, build_optim, fake_batch

from densenas_mm.models.algorithms import MemoryFormatPolicy, search_batch
from densenas_mm.search_space import set_depthwise_weight_grad


@pytest.fixture(autouse=True, scope='module')
def _single_thread(one_cpu_thread):
    """See ``one_cpu_thread`` in tests/conftest.py."""


def _setting(algo, fast: bool, channels_last=False) -> None:
    algo.channels_last = channels_last
    convs, grouped = set_depthwise_weight_grad(algo,
                                               'auto' if fast else 'native')
    assert convs > grouped > 0 if fast else convs > grouped == 0


def _grads(algo, phase: str, fast: bool, channels_last=False, dtype=None):
    """Loss and every gradient of one forward/backward of ``phase``."""
    _setting(algo, fast, channels_last)
    algo.mutator.set_sampling(
        dict(weight='sample', arch='pair')[phase],
        torch.Generator().manual_seed(4),
        arch_grad=phase == 'arch')
    algo.zero_grad(set_to_none=True)
    batch = algo.data_preprocessor(fake_batch(), True)
    if dtype is not None:
        batch['inputs'] = batch['inputs'].to(dtype)
    batch = algo.memory.apply_to_batch(batch)
    losses = algo.loss(batch['inputs'], batch['data_samples'], phase=phase)
    loss = sum(v for k, v in losses.items() if k.startswith('loss'))
    loss.backward()
    return float(loss.detach()), {
        n: p.grad.clone()
        for n, p in algo.named_parameters() if p.grad is not None
    }


@pytest.mark.parametrize('phase', ['weight', 'arch'])
def test_same_loss_and_gradients(phase):
    algo = build_algorithm(seed=2)
    algo.train()
    loss0, g0 = _grads(algo, phase, fast=False)
    loss1, g1 = _grads(algo, phase, fast=True)
    assert abs(loss0 - loss1) <= 1e-5 * abs(loss0)
    assert g0.keys() == g1.keys() and len(g0) > 10
    for name in g0:
        scale = float(g0[name].abs().max()) + 1e-12
        err = float((g0[name] - g1[name]).abs().max())
        assert err <= 1e-4 * scale + 1e-7, (name, err, scale)
    # the 5x5 depthwise weights got gradients (the grouped kernel ran)
    assert any('.layers.1.0.weight' in n and g1[n].shape[-1] == 5
               for n in g1)


@pytest.mark.parametrize('phase', ['weight', 'arch'])
def test_channels_last_computes_the_same_function(phase):
    """In float64 the channels-last CPU setting gives the reference's
    gradients to rounding (in float32 its BatchNorm accumulates in float32,
    docs/benchmarks.md)."""
    algo = build_algorithm(seed=2).double()
    algo.train()
    loss0, g0 = _grads(algo, phase, False, False, torch.float64)
    loss1, g1 = _grads(algo, phase, True, 'auto', torch.float64)
    assert abs(loss0 - loss1) <= 1e-12
    assert g0.keys() == g1.keys()
    # (a BN bias before an affine-free BN has a zero gradient: rounding)
    scale = max(float(g.abs().max()) for g in g0.values())
    for name in g0:
        err = float((g0[name] - g1[name]).abs().max())
        assert err <= 1e-10 * float(g0[name].abs().max()) + 1e-13 * scale, (
            name, err)


def _trajectory(fast: bool, dtype: torch.dtype):
    """Losses and parameters after a warm-up, two weight and an arch step.
    """
    algo = build_algorithm(seed=3).to(dtype)
    optim = build_optim(algo)
    algo.train()
    _setting(algo, fast)
    losses = []
    for k, phase in enumerate(('warmup', 'weight', 'weight', 'arch')):
        logs = algo.train_step(
            search_batch(fake_batch(seed=k), phase, 10 + k), optim)
        losses.append(
            float(logs['arch_loss' if phase == 'arch' else 'loss'].detach()))
    return torch.tensor(losses, dtype=torch.float64), {
        n: p.detach().double().clone()
        for n, p in algo.named_parameters()
    }


def _max_diff(a, b):
    return max(float((a[n] - b[n]).abs().max()) for n in a)


def test_same_steps_and_updates():
    """Four steps from one state: in float64 the two settings agree to
    rounding (the same function); in float32 both stay within 0.1 % of the
    float64 losses, and their parameters differ by less than the
    reference's own float32 error. Rounding differences grow through the
    steps (Adam's architecture update of near-zero gradients turns them
    into steps of the learning rate): after the architecture step the
    reference's float32 loss is 5e-5 off float64 and the fast setting's
    2e-4 on one thread of an Intel Xeon (4x the reference's; within 2x on
    an AMD EPYC), so a bound in multiples of the reference's error is a
    property of the machine, not of the kernels."""
    loss64, p64 = _trajectory(False, torch.float64)
    fast64, q64 = _trajectory(True, torch.float64)
    assert torch.allclose(loss64, fast64, rtol=1e-12, atol=0)
    assert _max_diff(p64, q64) < 1e-10
    loss32, p32 = _trajectory(False, torch.float32)
    fast32, q32 = _trajectory(True, torch.float32)
    assert torch.allclose(loss32, loss64, rtol=1e-3, atol=0)
    assert torch.allclose(fast32, loss64, rtol=1e-3, atol=0)
    assert _max_diff(q32, p32) <= 2 * _max_diff(p32, p64) + 1e-7


def test_auto_is_channels_last_on_cpu_only():
    algo = build_algorithm(seed=0)
    assert algo.channels_last is False  # the default
    batch = algo.memory.apply_to_batch(
        dict(inputs=torch.randn(2, 3, 8, 8)))
    assert batch['inputs'].is_contiguous()
    assert not algo.memory.on('cpu')
    algo = build_algorithm(seed=0, channels_last='auto')
    assert algo.memory.on('cpu') is True
    assert algo.memory.on(torch.device('cuda', 0)) is False
    # a speed choice, not the searched network's format
    assert algo.memory_format == 'contiguous'
    # the weights stay contiguous; a batch becomes channels-last
    conv = algo.architecture.backbone.stem[0][0].weight
    assert conv.is_contiguous()
    batch = algo.memory.apply_to_batch(
        dict(inputs=torch.randn(2, 3, 8, 8)))
    assert batch['inputs'].is_contiguous(memory_format=torch.channels_last)
    on = build_algorithm(seed=0, channels_last=True)
    assert on.memory_format == 'channels_last'
    assert on.memory.on('cuda')


@pytest.mark.parametrize('bad', ['yes', 1, None, 'Auto'])
def test_bad_channels_last_is_refused(bad):
    with pytest.raises(ValueError, match='channels_last must be one of'):
        build_algorithm(channels_last=bad)
    with pytest.raises(ValueError, match='channels_last must be one of'):
        MemoryFormatPolicy(bad)


def test_memory_format_policy_alone():
    conv = torch.nn.Conv2d(3, 4, 3)
    for value, fmt, cpu, cuda in [(False, 'contiguous', False, False),
                                  ('auto', 'contiguous', True, False),
                                  (True, 'channels_last', True, True)]:
        policy = MemoryFormatPolicy(value)
        assert policy.memory_format == fmt
        assert (policy.on('cpu'), policy.on('cuda:0')) == (cpu, cuda)
        policy.apply_to_model(conv)
        assert conv.weight.is_contiguous(
            memory_format=torch.channels_last) == (value is True)
        batch = dict(inputs=torch.randn(2, 3, 8, 8), other=1)
        out = policy.apply_to_batch(batch)
        assert out is batch and out['other'] == 1
        assert out['inputs'].is_contiguous(
            memory_format=torch.channels_last) == cpu
    flat = dict(inputs=torch.randn(2, 3))  # not an image batch: untouched
    assert MemoryFormatPolicy(True).apply_to_batch(flat)['inputs'].dim() == 2
    # the algorithm's setting is the policy's, and replaces it when set
    algo = build_algorithm(seed=0, channels_last='auto')
    assert algo.channels_last == algo.memory.channels_last == 'auto'
    algo.channels_last = True
    assert algo.memory.memory_format == algo.memory_format == 'channels_last'


def test_arch_steps_freeze_weights_from_one_cached_list():
    algo = build_algorithm(seed=0)
    optim = build_optim(algo)
    algo.train()
    assert algo._weight_params is None
    stem = algo.architecture.backbone.stem[0][0].weight
    head = algo.architecture.head.fc.weight
    head.requires_grad_(False)  # frozen by the user: stays frozen
    seen = {}

    def spy(module, args):
        seen['stem'] = stem.requires_grad

    hook = algo.architecture.backbone.register_forward_pre_hook(spy)
    algo.train_step(search_batch(fake_batch(), 'arch', 1), optim)
    cached = algo._weight_params
    assert cached is not None and len(cached) == len(
        list(algo.architecture.parameters()))
    assert seen['stem'] is False  # frozen during the arch step
    assert stem.requires_grad and not head.requires_grad
    algo.train_step(search_batch(fake_batch(), 'arch', 2), optim)
    assert algo._weight_params is cached  # listed once
    algo.train_step(search_batch(fake_batch(), 'weight', 3), optim)
    assert seen['stem'] is True  # weight steps train the weights
    hook.remove()
    # a parameter added later is frozen after refresh_weight_list
    extra = torch.nn.Parameter(torch.zeros(1))
    algo.architecture.register_parameter('extra', extra)
    algo.refresh_weight_list()
    with algo._weights_frozen(True):
        assert not extra.requires_grad
    assert extra.requires_grad
