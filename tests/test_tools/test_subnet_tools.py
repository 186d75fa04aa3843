"""Subnet tools from the command line: get_flops, benchmark_latency,
export_onnx, and retrain + mmcls test."""
import os.path as osp

import pytest
import torch

import densenas_mm  # noqa: F401
from helpers import REPO_ROOT
from helpers.tools import load_tool

SUBNETS = osp.join(REPO_ROOT, 'configs', 'densenas', 'subnets')
C_CFG = osp.join(SUBNETS, 'densenas_subnet-c_8xb128-240e_in1k.py')
DEMO_CFG = osp.join(SUBNETS, 'densenas_subnet-demo_1xb32-10e_digits.py')


def test_get_flops_command_line(tmp_path, capsys):
    tool = load_tool('analysis/get_flops.py')
    out = tmp_path / 'flops.json'
    result = tool.main([C_CFG, '--per-block', '--json', str(out)])
    assert (result['params'], result['macs']) == (6_134_144, 360_808_256)
    text = capsys.readouterr().out
    assert 'params: 6.134 M   MACs: 360.81 M' in text
    assert 'block 0 16->24 s2 mbconv_k3_t6' in text
    assert out.stat().st_size > 0


def test_benchmark_latency_cuda_skip(capsys):
    bench = load_tool('analysis/benchmark_latency.py')
    if torch.cuda.is_available():
        pytest.skip('CUDA present: the skip path is not reachable')
    assert bench.main([DEMO_CFG, '--device', 'cuda']) is None
    assert 'SKIP: CUDA is not available' in capsys.readouterr().err


def test_benchmark_latency_cpu(capsys):
    bench = load_tool('analysis/benchmark_latency.py')
    res = bench.main([DEMO_CFG, '--shape', '32', '--batch-size', '2',
                      '--warmup', '1', '--repeats', '3'])
    assert res['repeats'] == 3 and res['median_ms'] > 0
    assert 'latency median' in capsys.readouterr().out


def test_export_onnx_command_line(tmp_path):
    pytest.importorskip('onnx')
    pytest.importorskip('onnxruntime')
    export = load_tool('deployment/export_onnx.py')
    out = str(tmp_path / 'demo.onnx')
    result = export.main([DEMO_CFG, '--out', out, '--shape', '40'])
    assert result is not None and result['argmax_agree'] == 1.0


def test_retrain_one_epoch_and_evaluate_with_mmcls(demo_data_root, tmp_path,
                                                   monkeypatch, one_cpu_thread):
    """tools/train.py (1 epoch) then tools/test.py: mmcls Accuracy."""
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    train, test = load_tool('train.py'), load_tool('test.py')
    work = str(tmp_path / 'work')
    opts = [
        'train_cfg.max_epochs=1', 'randomness.seed=0',
        'train_dataloader.batch_size=16', 'train_dataloader.num_workers=0',
        'test_dataloader.num_workers=0', 'val_dataloader.num_workers=0'
    ]
    train.main([DEMO_CFG, '--work-dir', work, '--cfg-options', *opts])
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    metrics = test.main([
        DEMO_CFG, ckpt, '--work-dir', work, '--out',
        str(tmp_path / 'metrics.json'), '--cfg-options', *opts
    ])
    assert set(metrics) == {'accuracy/top1', 'accuracy/top5'}
    top1, top5 = metrics['accuracy/top1'], metrics['accuracy/top5']
    assert 0.0 <= top1 <= top5 <= 100.0
    # 90 iterations from scratch are far above chance (10 %): 84.4 % top-1
    # with this seed here; other seeds gave 40-73 %.
    assert top1 > 30.0 and top5 > 70.0
    assert osp.isfile(str(tmp_path / 'metrics.json'))


def test_imagenet_retrain_recipe_is_the_reference_one():
    from mmengine.config import Config
    cfg = Config.fromfile(C_CFG)
    assert cfg.default_scope == 'mmcls'
    assert cfg.custom_imports.imports == ['densenas_mm']
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.5,
                                                                  0.9, 4e-5)
    [sched] = cfg.param_scheduler
    assert sched.type == 'CosineAnnealingLR' and sched.eta_min == 1e-5
    assert sched.by_epoch and sched.convert_to_iter_based
    assert sched.T_max == cfg.train_cfg.max_epochs == 240
    assert cfg.train_dataloader.batch_size * 8 == 1024
    assert cfg.auto_scale_lr.base_batch_size == 1024
    loss = cfg.model.head.loss
    assert (loss.type, loss.label_smooth_val) == ('LabelSmoothLoss', 0.1)
    train = [t.type for t in cfg.train_pipeline]
    assert train[1:3] == ['RandomResizedCrop', 'RandomFlip']
    test = {t.type: t for t in cfg.test_pipeline}
    assert test['ResizeEdge'].scale == 256
    assert test['CenterCrop'].crop_size == 224
    assert cfg.model.head.num_classes == 1000
    assert cfg.model.backbone.arch.startswith("[[16, 16], 'mbconv_k3_t1'")
