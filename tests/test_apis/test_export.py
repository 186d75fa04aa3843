"""ONNX export and its ONNX Runtime check (densenas_mm.apis.export)."""
import os.path as osp

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.apis.export import check_onnx, export_onnx
from densenas_mm.apis.model_io import build_classifier
from helpers import REPO_ROOT

DEMO_CFG = osp.join(REPO_ROOT, 'configs', 'densenas', 'subnets',
                    'densenas_subnet-demo_1xb32-10e_digits.py')


def test_onnx_export_round_trip(tmp_path):
    pytest.importorskip('onnx')
    pytest.importorskip('onnxruntime')
    torch.manual_seed(0)
    model = build_classifier(DEMO_CFG)
    out = str(tmp_path / 'demo.onnx')
    export_onnx(model, out, [1, 3, 32, 32])
    result = check_onnx(model, out, [1, 3, 32, 32])
    assert result['max_abs_diff'] < 1e-4 * max(1, result['max_abs_logit'])
    assert result['argmax_agree'] == 1.0
