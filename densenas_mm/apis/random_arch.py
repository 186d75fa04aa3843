"""Random architectures of a search space (the random-search baseline).

Random alphas and betas (``N(0, std)``) are set on a search config's
``DenseRoutingMutator`` and the architecture is derived exactly as after a
search (Viterbi path, argmax ops). :func:`matched_random_arch` draws several
and keeps the one whose LUT latency is closest to a target: a same-budget
baseline.
"""
from typing import Any, Optional, Tuple

import torch

from densenas_mm.structures import DerivedArch


def build_search_mutator(config: Any):
    """The search config's supernet mutator (no estimator, no LUT).

    Args:
        config (str | Config): A DenseNAS search config.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from densenas_mm.registry import MODELS
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmcls'))
    model_cfg = cfg.model.copy()
    model_cfg.estimator = None
    model_cfg.cost_loss = None
    return MODELS.build(model_cfg).mutator


def random_arch(mutator, generator: torch.Generator,
                std: float = 3.0) -> DerivedArch:
    """Set random alphas/betas on ``mutator`` and derive the architecture."""
    for p in mutator.arch_params.values():
        p.data.copy_(torch.randn(p.shape, generator=generator) * std)
    return mutator.derived_arch()


def matched_random_arch(mutator,
                        estimator,
                        target: float,
                        generator: torch.Generator,
                        std: float = 3.0,
                        samples: int = 200,
                        metric: str = 'latency'
                        ) -> Tuple[float, DerivedArch]:
    """The random architecture (of ``samples``) whose cost is closest to
    ``target``.

    Args:
        mutator: A prepared ``DenseRoutingMutator`` (its params are
            overwritten).
        estimator: A ``ChainedLatencyEstimator`` bound to the space.
        target (float): The cost to match (e.g. the searched net's LUT ms).
        generator (torch.Generator): Source of the random logits.
        std (float): Std of the random logits.
        samples (int): How many architectures to draw.
        metric (str): ``'latency'``, ``'flops'`` or ``'params'``.

    Returns:
        tuple[float, DerivedArch]: Its cost and the architecture.
    """
    best: Optional[Tuple[float, DerivedArch]] = None
    for _ in range(samples):
        arch = random_arch(mutator, generator, std)
        cost = estimator.estimate(arch)[metric]
        if best is None or abs(cost - target) < abs(best[0] - target):
            best = (cost, arch)
    return best
