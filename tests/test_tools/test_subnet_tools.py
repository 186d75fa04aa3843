"""Subnet tools: complexity, latency, ONNX export, retrain + mmcls test."""
import importlib.util
import os.path as osp

import pytest
import torch

import densenas_mm  # noqa: F401
import densenas_mm.models.backbones.densenas_net  # noqa: F401
from densenas_mm.models.converters.model_io import build_classifier

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SUBNETS = osp.join(ROOT, 'configs', 'densenas', 'subnets')
C_CFG = osp.join(SUBNETS, 'densenas-c_in1k.py')
DEMO_CFG = osp.join(SUBNETS, 'densenas-subnet_1xb32-10e_digits.py')


def load_tool(relpath):
    """Import a script under tools/ as a module."""
    name = 'tool_' + osp.splitext(osp.basename(relpath))[0]
    spec = importlib.util.spec_from_file_location(
        name, osp.join(ROOT, 'tools', relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def get_flops():
    return load_tool('analysis/get_flops.py')


@pytest.fixture(scope='module')
def demo_model():
    torch.manual_seed(0)
    return build_classifier(DEMO_CFG)


def test_densenas_c_params_and_macs_match_the_paper(get_flops):
    model = build_classifier(C_CFG)
    result = get_flops.count_complexity(model, (1, 3, 224, 224))
    # published: 6.13 M params, 360.8 M mult-adds (BN / act not counted)
    assert result['params'] == pytest.approx(6.13e6, rel=0.005)
    assert result['macs'] == pytest.approx(360.8e6, rel=0.005)
    assert (result['params'], result['macs']) == (6_134_144, 360_808_256)
    head = result['per_block'][-1]
    assert head['name'] == 'head' and head['macs'] == 1984 * 1000
    assert sum(r['macs'] for r in result['per_block']) == result['macs']
    assert sum(r['params'] for r in result['per_block']) == result['params']
    ref = get_flops.mmrazor_complexity(model, (1, 3, 224, 224))
    assert ref == dict(macs=result['macs'], params=result['params'])


@pytest.mark.parametrize('size', [32, 48])
def test_counts_agree_with_mmrazor_resource_estimator(get_flops, demo_model,
                                                      size):
    shape = (1, 3, size, size)
    result = get_flops.count_complexity(demo_model, shape)
    ref = get_flops.mmrazor_complexity(demo_model, shape)
    assert ref == dict(macs=result['macs'], params=result['params'])
    rows = {r['name']: r for r in result['per_block']}
    assert rows['backbone.terminal']['out_shape'] == (128, size // 8,
                                                      size // 8)
    text = get_flops.format_report(result, per_block=True)
    assert 'block 2 node 4 16->32 s2 mbconv_k5_t3' in text


def test_benchmark_latency_cpu_and_cuda_skip(demo_model, capsys):
    bench = load_tool('analysis/benchmark_latency.py')
    res = bench.measure_latency(
        demo_model, [2, 3, 32, 32], 'cpu', warmup=2, repeats=5)
    assert res['repeats'] == 5 and res['batch_size'] == 2
    assert 0 < res['min_ms'] <= res['median_ms'] <= res['max_ms']
    assert res['p10_ms'] <= res['p90_ms']
    assert res['per_image_ms'] == pytest.approx(res['median_ms'] / 2)
    with pytest.raises(ValueError, match='repeats'):
        bench.measure_latency(demo_model, [1, 3, 32, 32], repeats=0)
    if not torch.cuda.is_available():
        assert bench.main([DEMO_CFG, '--device', 'cuda']) is None
        assert 'SKIP: CUDA is not available' in capsys.readouterr().err


def test_onnx_export_round_trip(demo_model, tmp_path):
    pytest.importorskip('onnx')
    pytest.importorskip('onnxruntime')
    export = load_tool('deployment/export_onnx.py')
    out = str(tmp_path / 'demo.onnx')
    export.export_onnx(demo_model, out, [1, 3, 32, 32])
    result = export.check_onnx(demo_model, out, [1, 3, 32, 32])
    assert result['max_abs_diff'] < 1e-4 * max(1, result['max_abs_logit'])
    assert result['argmax_agree'] == 1.0
    assert export.main([DEMO_CFG, '--out', out, '--shape', '40']) is not None


@pytest.fixture
def one_thread():
    """The demo net is tiny: OpenMP threads only contend on busy CI hosts
    (2 threads under load: ~2 s per iteration instead of ~0.05 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_retrain_one_epoch_and_evaluate_with_mmcls(demo_data_root, tmp_path,
                                                   monkeypatch, one_thread):
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
