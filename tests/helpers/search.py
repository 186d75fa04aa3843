"""Builders shared by the algorithm / engine tests (imported, not a conftest).

The DenseNAS algorithm is built from the demo search config itself (so the
tests exercise the real registries, optimiser constructor and estimator),
with the FLOPs metric unless a latency table is given.
"""
import copy
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import densenas_mm  # noqa: F401
from densenas_mm.registry import MODELS

from helpers import REPO_ROOT
DEMO_CONFIG = osp.join(REPO_ROOT, 'configs', 'densenas',
                       'densenas_supernet-demo_1xb32-20e_digits.py')


def demo_cfg() -> Config:
    """The demo search config (data root irrelevant: nothing is loaded)."""
    return Config.fromfile(DEMO_CONFIG)


def build_algorithm(lut=None,
                    loss_weight: float = 0.15,
                    tau: float = 15.0,
                    seed: int = 0,
                    **model_overrides):
    """DenseNAS of the demo config; FLOPs cost unless ``lut`` is given."""
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('densenas_mm_algo_tests', scope_name='mmcls')
    cfg = demo_cfg()
    model = copy.deepcopy(cfg.model)
    if lut is None:
        model.estimator.update(metric='flops', lut=None)
    else:
        model.estimator.update(metric='latency', lut=lut)
    model.cost_loss.update(loss_weight=loss_weight, tau=tau)
    model.update(model_overrides)
    torch.manual_seed(seed)
    return MODELS.build(model)


def build_optim(algorithm,
                arch_lr: float = 3e-3,
                arch_wd: float = 1e-3,
                weight_lr: float = 0.1,
                weight_wd: float = 4e-5):
    """The real OptimWrapperDict through mmrazor's constructor."""
    cfg = copy.deepcopy(demo_cfg().optim_wrapper)
    cfg.architecture.optimizer.update(lr=weight_lr, weight_decay=weight_wd)
    cfg.mutator.optimizer.update(lr=arch_lr, weight_decay=arch_wd)
    return build_optim_wrapper(algorithm, cfg)


def fake_batch(n: int = 8, seed: int = 0, num_classes: int = 10) -> Dict:
    """A dataloader-style batch of random 32x32 RGB images with labels."""
    from mmcls.structures import ClsDataSample
    g = torch.Generator().manual_seed(seed)
    inputs: List[torch.Tensor] = [
        torch.randint(0, 256, (3, 32, 32), generator=g, dtype=torch.uint8)
        for _ in range(n)
    ]
    labels = torch.randint(0, num_classes, (n, ), generator=g).tolist()
    samples = [ClsDataSample().set_gt_label(lb) for lb in labels]
    return dict(inputs=inputs, data_samples=samples)


def split_params(algorithm) -> Dict[str, Dict[str, torch.Tensor]]:
    """Copies of the weights and of the arch params, by name."""
    arch_ids = {id(p) for p in algorithm.mutator.arch_params.values()}
    weights = {
        n: p.detach().clone()
        for n, p in algorithm.named_parameters() if id(p) not in arch_ids
    }
    arch = {
        k: p.detach().clone()
        for k, p in algorithm.mutator.arch_params.items()
    }
    return dict(weights=weights, arch=arch)


def changed(before: Dict[str, torch.Tensor],
            after: Dict[str, torch.Tensor]) -> List[str]:
    """Names whose tensors differ at all."""
    return [k for k in before if not torch.equal(before[k], after[k])]


def active_sets(algorithm) -> Dict[str, Optional[List[int]]]:
    """Ops in play per searchable mixed op."""
    mut = algorithm.mutator
    return {a: mut._ops[a].active for a in mut.alphas()}
