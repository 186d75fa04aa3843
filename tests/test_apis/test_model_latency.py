"""Whole-model latency (densenas_mm.apis.model_latency)."""
import os.path as osp

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.apis.model_io import build_classifier
from densenas_mm.apis.model_latency import measure_latency
from helpers import REPO_ROOT

DEMO_CFG = osp.join(REPO_ROOT, 'configs', 'densenas', 'subnets',
                    'densenas_subnet-demo_1xb32-10e_digits.py')


def test_latency_stats_of_the_demo_subnet():
    torch.manual_seed(0)
    model = build_classifier(DEMO_CFG)
    res = measure_latency(model, [2, 3, 32, 32], 'cpu', warmup=2, repeats=5)
    assert res['repeats'] == 5 and res['batch_size'] == 2
    assert 0 < res['min_ms'] <= res['median_ms'] <= res['max_ms']
    assert res['p10_ms'] <= res['p90_ms']
    assert res['per_image_ms'] == pytest.approx(res['median_ms'] / 2)
    with pytest.raises(ValueError, match='repeats'):
        measure_latency(model, [1, 3, 32, 32], repeats=0)
