"""Build the real objects the benchmarks time.

- the DenseNAS algorithm via the registry (mmcls ``ImageClassifier`` around
  a ``DenseNASSupernet``, ``DenseRoutingMutator``, ``ChainedLatencyEstimator``,
  ``LatencyLoss``), so the timed step is the real ``DenseNAS.train_step``;
- its ``OptimWrapperDict`` from mmrazor's ``SeparateOptimWrapperConstructor``
  (reference optimisers: SGD 0.2/0.9/4e-5 on weights, Adam 3e-4 (0.5, 0.999)
  wd 1e-3 on alpha/beta);
- the derived subnet (``DenseNASNet``) and mmcls's MobileNetV2 1.0 at the
  same batch and resolution, each with an SGD ``OptimWrapper``.

Mixed precision: on CUDA mmengine's ``AmpOptimWrapper`` (``dtype`` float16 or
bfloat16). mmengine's wrapper refuses to run without an accelerator, so on
CPU ``densenas_mm.AutocastOptimWrapper`` (``torch.autocast('cpu', dtype)``,
no loss scaling) stands in.
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import torch
import torch.nn as nn

from densenas_mm.search_space import (SearchSpace, load_preset,
                                      search_space_from_cfg)

# the paper's list, shipped in resources/latency/ (Apache-2.0, see there)
REFERENCE_MBV2 = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))), 'resources', 'latency',
    'lat_list_densenas_mbv2_xp32')
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def resolve_space(config_or_preset: str) -> Dict[str, Any]:
    """``dict(space=SearchSpace, model=cfg or None, path=...)``.

    Accepts a preset name (``densenas_demo_32``), a search-space file or a
    full DenseNAS config (its ``model`` is used, estimator aside).
    """
    if not osp.exists(config_or_preset) and '/' not in config_or_preset:
        name = config_or_preset[:-3] if config_or_preset.endswith(
            '.py') else config_or_preset
        return dict(space=load_preset(name), model=None, path=name)
    from mmengine.config import Config
    cfg = Config.fromfile(config_or_preset)
    model = cfg.get('model')
    is_search = model is not None and 'DenseNAS' in str(
        model.get('type', ''))
    return dict(
        space=search_space_from_cfg(cfg),
        model=model.to_dict() if is_search else None,
        path=config_or_preset)


def build_estimator(space: SearchSpace, estimator: str,
                    model_cfg: Optional[Dict]) -> Dict[str, Any]:
    """The estimator config/object used by the arch step's cost term.

    ``estimator``: ``'auto'`` (the config's LUT if the file exists, else the
    imported reference table for ``densenas_mbv2_224``, else FLOPs),
    ``'reference'``, ``'flops'``, or a LUT JSON path.
    """
    from densenas_mm.latency import import_reference
    from densenas_mm.models.estimators import ChainedLatencyEstimator
    choice = estimator
    if choice == 'auto':
        lut = ((model_cfg or {}).get('estimator') or {}).get('lut')
        if isinstance(lut, str) and osp.isfile(lut):
            choice = lut
        elif space.name == 'densenas_mbv2_224' and osp.isfile(REFERENCE_MBV2):
            choice = 'reference'
        else:
            choice = 'flops'
    if choice == 'flops':
        return dict(
            estimator=ChainedLatencyEstimator(
                metric='flops', target_device=None),
            kind='flops (analytic M mult-adds)')
    if choice == 'reference':
        with open(REFERENCE_MBV2) as f:
            table, _ = import_reference(f.read(), space)
        return dict(
            estimator=ChainedLatencyEstimator(
                lut=table, metric='latency', target_device=None),
            kind='latency LUT: reference TITAN-Xp table (imported)')
    return dict(
        estimator=ChainedLatencyEstimator(
            lut=choice, metric='latency', target_device=None),
        kind=f'latency LUT: {choice}')


def supernet_model_cfg(space: SearchSpace) -> Dict[str, Any]:
    """The DenseNAS model config (reference settings) for ``space``."""
    return dict(
        type='densenas_mm.DenseNAS',
        architecture=dict(
            type='mmcls.ImageClassifier',
            backbone=dict(
                type='densenas_mm.DenseNASSupernet',
                search_space=space.to_dict(),
                route_temperature=0.9 if space.family == 'resnet' else 1.0),
            neck=dict(type='mmcls.GlobalAveragePooling'),
            head=dict(
                type='mmcls.LinearClsHead',
                num_classes=space.num_classes,
                in_channels=space.last_dim,
                loss=dict(type='mmcls.CrossEntropyLoss', loss_weight=1.0),
                topk=(1, )),
            data_preprocessor=dict(
                type='mmcls.ClsDataPreprocessor', mean=MEAN, std=STD)),
        mutator=dict(type='densenas_mm.DenseRoutingMutator'),
        cost_loss=dict(
            type='densenas_mm.LatencyLoss', loss_weight=0.15, tau=15),
        sample_seed=0)


def wrapper_cfg(device: str, amp: Optional[str]) -> Dict[str, Any]:
    """Optim-wrapper type fields for the AMP setting."""
    if not amp:
        return dict(type='OptimWrapper')
    dtype = dict(bf16='bfloat16', fp16='float16')[amp]
    if device.startswith('cuda'):
        return dict(type='AmpOptimWrapper', dtype=dtype)
    return dict(
        type='densenas_mm.AutocastOptimWrapper',
        dtype=dtype,
        device_type='cpu')


@dataclass
class Bench:
    """Everything a benchmark run needs."""
    space: SearchSpace
    algorithm: nn.Module
    optim: Any
    estimator_kind: str
    device: str
    batch: Dict[str, Any]
    input_size: int
    amp: Optional[str] = None
    channels_last: bool = False
    extra: Dict[str, Any] = field(default_factory=dict)


def make_batch(batch_size: int, input_size: int, num_classes: int,
               device: str, channels_last: bool) -> Dict[str, Any]:
    """A uint8-valued image batch (already on ``device``) with labels."""
    from mmcls.structures import ClsDataSample
    g = torch.Generator().manual_seed(0)
    x = torch.randint(
        0, 256, (batch_size, 3, input_size, input_size),
        generator=g).float().to(device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    samples = [
        ClsDataSample().set_gt_label(i % num_classes)
        for i in range(batch_size)
    ]
    return dict(inputs=x, data_samples=samples)


def set_scope():
    from mmengine.registry import DefaultScope
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('densenas_benchmark', scope_name='mmcls')


def build_bench(config_or_preset: str,
                device: str = 'cpu',
                batch_size: int = 32,
                input_size: Optional[int] = None,
                amp: Optional[str] = None,
                channels_last: bool = False,
                estimator: str = 'auto',
                seed: int = 0) -> Bench:
    """Build the DenseNAS algorithm, its optimisers and a batch."""
    from mmrazor.engine import SeparateOptimWrapperConstructor

    from densenas_mm.registry import MODELS
    set_scope()
    torch.manual_seed(seed)
    resolved = resolve_space(config_or_preset)
    space = resolved['space']
    model_cfg = resolved['model'] or supernet_model_cfg(space)
    est = build_estimator(space, estimator, resolved['model'])
    model_cfg = dict(model_cfg, estimator=est['estimator'])
    if model_cfg.get('cost_loss') is None:
        model_cfg['cost_loss'] = dict(
            type='densenas_mm.LatencyLoss', loss_weight=0.15, tau=15)
    algorithm = MODELS.build(model_cfg)
    algorithm.init_weights()
    algorithm.to(device)
    if channels_last:
        algorithm.to(memory_format=torch.channels_last)
    algorithm.train()
    wrap = wrapper_cfg(device, amp)
    optim = SeparateOptimWrapperConstructor(
        dict(
            architecture=dict(
                **wrap,
                optimizer=dict(
                    type='SGD', lr=0.2, momentum=0.9, weight_decay=4e-5)),
            mutator=dict(
                **wrap,
                optimizer=dict(
                    type='Adam',
                    lr=3e-4,
                    betas=(0.5, 0.999),
                    weight_decay=1e-3))))(algorithm)
    size = input_size or space.input_size
    head = algorithm.architecture.head
    batch = make_batch(batch_size, size, head.num_classes, device,
                       channels_last)
    return Bench(
        space=space,
        algorithm=algorithm,
        optim=optim,
        estimator_kind=est['kind'],
        device=device,
        batch=batch,
        input_size=size,
        amp=amp,
        channels_last=channels_last)


def build_plain(model_cfg: Dict[str, Any], device: str, amp: Optional[str],
                channels_last: bool):
    """An mmcls classifier and its SGD optim wrapper."""
    from mmengine.optim import build_optim_wrapper

    from densenas_mm.registry import MODELS
    set_scope()
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    model.train()
    wrap = wrapper_cfg(device, amp)
    optim = build_optim_wrapper(
        model,
        dict(
            **wrap,
            optimizer=dict(
                type='SGD', lr=0.2, momentum=0.9, weight_decay=4e-5)))
    return model, optim


def subnet_cfg(arch, num_classes: int) -> Dict[str, Any]:
    """mmcls classifier around the derived net."""
    return dict(
        type='mmcls.ImageClassifier',
        backbone=dict(type='densenas_mm.DenseNASNet', arch=arch),
        neck=dict(type='mmcls.GlobalAveragePooling'),
        head=dict(
            type='mmcls.LinearClsHead',
            num_classes=num_classes,
            in_channels=arch.out_channels,
            topk=(1, )),
        data_preprocessor=dict(
            type='mmcls.ClsDataPreprocessor', mean=MEAN, std=STD))


def mobilenet_v2_cfg(num_classes: int) -> Dict[str, Any]:
    """mmcls MobileNetV2 1.0 classifier."""
    return dict(
        type='mmcls.ImageClassifier',
        backbone=dict(type='mmcls.MobileNetV2', widen_factor=1.0),
        neck=dict(type='mmcls.GlobalAveragePooling'),
        head=dict(
            type='mmcls.LinearClsHead',
            num_classes=num_classes,
            in_channels=1280,
            topk=(1, )),
        data_preprocessor=dict(
            type='mmcls.ClsDataPreprocessor', mean=MEAN, std=STD))


def env_threads(threads: Optional[int]) -> None:
    """Fix the intra-op thread count (1 by default on shared CPUs)."""
    if threads:
        torch.set_num_threads(threads)
        os.environ.setdefault('OMP_NUM_THREADS', str(threads))
