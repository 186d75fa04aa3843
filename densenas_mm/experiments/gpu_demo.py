"""The demo search model and batches of the GPU check (:mod:`.gpu_check`).

The demo search config's algorithm with the FLOPs cost (no latency table
needed), its optimisers, and reproducible loader-style batches tagged
with a search phase, so that the CPU and the device (or two DDP ranks)
see the same model and the same data.
"""
import copy
from typing import Any, Dict

import torch

from .paths import repo_path

#: The config every stage builds its model from.
DEMO_CONFIG = repo_path('configs', 'densenas',
                        'densenas_supernet-demo_1xb32-20e_digits.py')
#: The search phases a stage steps through, in order.
PHASES = ('warmup', 'weight', 'arch')


def build_demo(seed: int = 0) -> Any:
    """The demo search algorithm with the FLOPs cost (no table needed)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import densenas_mm  # noqa: F401  (registers the modules)
    from densenas_mm.registry import MODELS
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('densenas_gpu_check', scope_name='mmcls')
    model = copy.deepcopy(Config.fromfile(DEMO_CONFIG).model)
    model.estimator.update(metric='flops', lut=None)
    torch.manual_seed(seed)
    return MODELS.build(model)


def build_optim(algo: Any) -> Any:
    """The demo config's two optimisers (mmrazor's constructor)."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile(DEMO_CONFIG)
    return build_optim_wrapper(algo, copy.deepcopy(cfg.optim_wrapper))


def demo_batch(n: int, seed: int, num_classes: int = 10) -> Dict[str, Any]:
    """A loader-style batch: ``n`` random 32 px uint8 images and labels."""
    from mmcls.structures import ClsDataSample
    g = torch.Generator().manual_seed(seed)
    images = [
        torch.randint(0, 256, (3, 32, 32), generator=g, dtype=torch.uint8)
        for _ in range(n)
    ]
    labels = torch.randint(0, num_classes, (n, ), generator=g).tolist()
    return dict(
        inputs=images,
        data_samples=[ClsDataSample().set_gt_label(lb) for lb in labels])


def tagged_batch(phase: str, k: int, n: int) -> Dict[str, Any]:
    """Batch ``k`` of ``n`` images tagged for ``phase`` (sampling seed
    ``k``)."""
    from densenas_mm.models.algorithms.steps import search_batch
    return search_batch(demo_batch(n, seed=100 + k), phase, seed=k)


def sync(device: str) -> None:
    """Wait for the device's queued work (no-op on the CPU)."""
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def alphas(algo: Any) -> torch.Tensor:
    """Every architecture parameter of ``algo`` as one float64 CPU
    vector."""
    return torch.cat([
        p.detach().double().cpu().reshape(-1)
        for p in algo.mutator.arch_params.values()
    ])


__all__ = [
    'DEMO_CONFIG', 'PHASES', 'alphas', 'build_demo', 'build_optim',
    'demo_batch', 'sync', 'tagged_batch'
]
