"""Warm-up, weight and architecture steps under CPU autocast (float16 and
bfloat16) through ``AutocastOptimWrapper``, and the float32 route
probabilities before the terminal softmax."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from densenas_mm.models.algorithms.steps import search_batch
from densenas_mm.models.backbones.supernet import DenseNASSupernet

from helpers.search import (build_algorithm, changed, demo_cfg, fake_batch,
                            split_params)


def _autocast_optim(algo, dtype: str):
    cfg = copy.deepcopy(demo_cfg().optim_wrapper)
    for part in ('architecture', 'mutator'):
        cfg[part].update(
            type='densenas_mm.AutocastOptimWrapper',
            dtype=dtype,
            device_type='cpu')
    return build_optim_wrapper(algo, cfg)


@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
def test_all_three_steps_run_under_cpu_autocast(dtype):
    torch.set_num_threads(1)
    algo = build_algorithm()
    optim = _autocast_optim(algo, dtype)
    assert optim['mutator'].cast_dtype == getattr(torch, dtype)
    for k, phase in enumerate(('warmup', 'weight', 'arch')):
        before = split_params(algo)
        log = algo.train_step(
            search_batch(fake_batch(8, seed=k), phase, seed=k), optim)
        assert all(
            bool(torch.isfinite(v.float()).all()) for v in log.values()), log
        after = split_params(algo)
        if phase == 'arch':
            assert log['arch_expected_cost'].dtype == torch.float32
            assert changed(before['arch'], after['arch'])
            assert not changed(before['weights'], after['weights'])
        else:
            assert changed(before['weights'], after['weights'])
            assert not changed(before['arch'], after['arch'])
    # parameters stay float32 (autocast casts per op)
    assert all(p.dtype == torch.float32 for p in algo.parameters())


def test_terminal_softmax_takes_float32_route_probabilities():
    """A probability differing from another by less than half precision
    resolves keeps its difference (a half cast before the softmax would
    round both to the same value)."""
    like = torch.zeros(2, 3, dtype=torch.float16)
    p = [torch.tensor(0.5001), torch.tensor(0.5002), None]
    out = DenseNASSupernet._softmax_weights(p, like)
    assert all(w.dtype == torch.float32 for w in out)
    assert out[1] > out[0]
    ref = torch.softmax(torch.tensor([0.5001, 0.5002, 1.0]), 0)
    assert torch.allclose(torch.stack(out), ref)
    # half features weighted by them stay half
    assert (out[0] * like).dtype == torch.float16
