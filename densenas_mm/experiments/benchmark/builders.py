"""Build the real objects the benchmarks time, from the configs users run.

- the DenseNAS algorithm from a search config's ``model`` via the registry
  (mmcls ``ImageClassifier`` around a ``DenseNASSupernet``,
  ``DenseRoutingMutator``, the cost loss and ``grad_zeroing`` of the
  config), so the timed step is the real ``DenseNAS.train_step`` of a
  search; only the estimator is chosen here (``--estimator``);
- its ``OptimWrapperDict`` from the config's ``optim_wrapper`` through
  mmengine's ``build_optim_wrapper`` (mmrazor's
  ``SeparateOptimWrapperConstructor`` in the search configs);
- the derived subnet (``DenseNASNet``) and mmcls's MobileNetV2 1.0 at the
  same batch and resolution, each with the weights' optimiser of that
  recipe in a plain ``OptimWrapper``.

A search-space preset (or space file, or a config that is no search)
benchmarks the search config of its family (:data:`RECIPE_CONFIGS`, the
paper's MobileNetV2 and ResNet searches) with the space put in: its
``search_space``, ``num_classes`` and ``in_channels``.

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
from ..paths import RESOURCES, repo_path

# the paper's list, shipped in resources/latency/ (Apache-2.0, see there)
REFERENCE_MBV2 = os.path.join(RESOURCES, 'latency',
                              'lat_list_densenas_mbv2_xp32')
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]

#: The search config whose recipe a space of each family is benchmarked
#: with (the paper's searches; their recipe is
#: configs/_base_/models/densenas_search.py and
#: configs/_base_/schedules/densenas_search.py).
RECIPE_CONFIGS = {
    'mbv2':
    repo_path('configs', 'densenas',
              'densenas_supernet-mbv2_4xb88-150e_in100.py'),
    'resnet':
    repo_path('configs', 'densenas',
              'densenas_supernet-resnet-r2_4xb128-70e_in100.py'),
}


def is_search_config(cfg: Any) -> bool:
    """Whether a config's ``model`` is a DenseNAS search."""
    model = cfg.get('model')
    return isinstance(model, dict) and 'DenseNAS' in str(
        model.get('type', ''))


def resolve_space(config_or_preset: str) -> Dict[str, Any]:
    """``dict(space=SearchSpace, cfg=Config, path=..., recipe=bool)``: the
    space and the search config whose ``model`` and ``optim_wrapper`` are
    benchmarked (``recipe``: the family's config with the space put in).

    Accepts a preset name (``densenas_demo_32``), a search-space file or a
    config. A DenseNAS search config is used as it is; otherwise the
    search config of the space's family (:data:`RECIPE_CONFIGS`) with the
    space put in.

    Raises:
        ValueError: For a space of a family without a recipe config.
    """
    from mmengine.config import Config
    if not osp.exists(config_or_preset) and '/' not in config_or_preset:
        name = config_or_preset[:-3] if config_or_preset.endswith(
            '.py') else config_or_preset
        space, cfg, path = load_preset(name), None, name
    else:
        cfg = Config.fromfile(config_or_preset)
        space, path = search_space_from_cfg(cfg), config_or_preset
    recipe = cfg is None or not is_search_config(cfg)
    if recipe:
        if space.family not in RECIPE_CONFIGS:
            raise ValueError(
                f'{path}: no search recipe for the {space.family!r} space '
                f'family; pass a search config (families with one: '
                f'{sorted(RECIPE_CONFIGS)})')
        cfg = Config.fromfile(RECIPE_CONFIGS[space.family])
        cfg.merge_from_dict({
            'model.architecture.backbone.search_space': space.to_dict(),
            'model.architecture.head.num_classes': space.num_classes,
            'model.architecture.head.in_channels': space.last_dim,
        })
    return dict(space=space, cfg=cfg, path=path, recipe=recipe)


def build_estimator(space: SearchSpace, estimator: str,
                    model_cfg: Dict[str, Any]) -> Dict[str, Any]:
    """The estimator config/object used by the arch step's cost term.

    ``estimator``: ``'auto'`` (the LUT of ``model_cfg``, the user's search
    config, if the file exists, else the imported reference table for
    ``densenas_mbv2_224``, else FLOPs), ``'reference'``, ``'flops'``, or a
    LUT JSON path.
    """
    from densenas_mm.latency import import_reference
    from densenas_mm.models.estimators import ChainedLatencyEstimator
    choice = estimator
    if choice == 'auto':
        lut = (model_cfg.get('estimator') or {}).get('lut')
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


def wrapper_cfg(device: str, amp: Optional[str]) -> Dict[str, Any]:
    """Optim-wrapper type fields for the AMP setting (none: the config's
    wrapper type)."""
    if not amp:
        return {}
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

    @property
    def weight_optimizer(self) -> Dict[str, Any]:
        """The search config's optimiser of the weights (its
        ``optim_wrapper.architecture.optimizer``)."""
        ow = self.extra['config'].optim_wrapper
        return (ow.get('architecture') or ow).optimizer.to_dict()


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


def optim_parts(optim_wrapper: Dict[str, Any]) -> Dict[str, Dict]:
    """The wrappers of an ``optim_wrapper`` config: itself when it has an
    ``optimizer``, else its parts that have one (mmrazor's
    ``SeparateOptimWrapperConstructor``: ``architecture``, ``mutator``)."""
    if 'optimizer' in optim_wrapper:
        return {'': optim_wrapper}
    return {
        k: v
        for k, v in optim_wrapper.items()
        if isinstance(v, dict) and 'optimizer' in v
    }


def recipe_optim_wrapper(cfg: Any, device: str,
                         amp: Optional[str]) -> Dict[str, Any]:
    """The config's ``optim_wrapper`` (a plain dict), each wrapper's type
    set for ``amp`` (:func:`wrapper_cfg`)."""
    optim_wrapper = cfg.optim_wrapper.to_dict()
    for part in optim_parts(optim_wrapper).values():
        part.update(wrapper_cfg(device, amp))
    return optim_wrapper


def build_model(model_cfg: Dict[str, Any], device: str,
                channels_last: bool) -> nn.Module:
    """A model from the registry, initialised, on ``device`` (channels-last
    weights if asked) and in training mode."""
    from densenas_mm.registry import MODELS
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    model.train()
    return model


def build_bench(config_or_preset: str,
                device: str = 'cpu',
                batch_size: int = 32,
                input_size: Optional[int] = None,
                amp: Optional[str] = None,
                channels_last: bool = False,
                estimator: str = 'auto',
                seed: int = 0) -> Bench:
    """Build the DenseNAS algorithm and its optimisers from a search config
    (:func:`resolve_space`), and a batch."""
    from mmengine.optim import build_optim_wrapper
    set_scope()
    torch.manual_seed(seed)
    resolved = resolve_space(config_or_preset)
    space, cfg = resolved['space'], resolved['cfg']
    model_cfg = cfg.model.to_dict()
    # a family recipe's table belongs to the recipe's own space
    est = build_estimator(space, estimator,
                          {} if resolved['recipe'] else model_cfg)
    model_cfg['estimator'] = est['estimator']
    algorithm = build_model(model_cfg, device, channels_last)
    optim = build_optim_wrapper(algorithm,
                                recipe_optim_wrapper(cfg, device, amp))
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
        channels_last=channels_last,
        extra=dict(config=cfg))


def build_plain(model_cfg: Dict[str, Any], device: str, amp: Optional[str],
                channels_last: bool, optimizer: Dict[str, Any]):
    """An mmcls classifier and an optim wrapper of ``optimizer`` (the
    search recipe's weight optimiser: ``Bench.weight_optimizer``)."""
    from mmengine.optim import build_optim_wrapper
    set_scope()
    model = build_model(model_cfg, device, channels_last)
    optim = build_optim_wrapper(
        model, dict(wrapper_cfg(device, amp), optimizer=dict(optimizer)))
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
