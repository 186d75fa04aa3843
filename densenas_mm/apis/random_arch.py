"""Random architectures of a search space (the random-search baseline).

Random alphas and betas (``N(0, std)``) are set on a search config's
``DenseRoutingMutator`` and the architecture is derived exactly as after a
search (Viterbi path, argmax ops). :func:`matched_random_archs` draws many
and keeps the distinct ones whose LUT latency is closest to a target:
same-budget baselines.
"""
from typing import Any, Dict, List, Tuple

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


def matched_random_archs(mutator,
                         estimator,
                         target: float,
                         generator: torch.Generator,
                         count: int = 1,
                         draws: int = 200,
                         std: float = 3.0,
                         metric: str = 'latency'
                         ) -> List[Tuple[float, DerivedArch]]:
    """The ``count`` distinct random architectures (of ``draws``) whose cost
    is closest to ``target``, closest first.

    Args:
        mutator: A prepared ``DenseRoutingMutator`` (its params are
            overwritten).
        estimator: A ``ChainedLatencyEstimator`` bound to the space.
        target (float): The cost to match (e.g. the searched net's LUT ms).
        generator (torch.Generator): Source of the random logits.
        count (int): How many architectures to return.
        draws (int): How many architectures to draw.
        std (float): Std of the random logits.
        metric (str): ``'latency'``, ``'flops'`` or ``'params'``.

    Returns:
        list[tuple[float, DerivedArch]]: Cost and architecture of each.

    Raises:
        ValueError: If the draws hold fewer than ``count`` distinct nets.
    """
    found: Dict[str, Tuple[float, DerivedArch]] = {}
    for _ in range(draws):
        arch = random_arch(mutator, generator, std)
        key = arch.to_net_config()
        if key not in found:
            found[key] = (float(estimator.estimate(arch)[metric]), arch)
    if len(found) < count:
        raise ValueError(f'{draws} draws gave {len(found)} distinct '
                         f'architectures, fewer than the {count} asked for; '
                         'draw more')
    return sorted(found.values(), key=lambda c: abs(c[0] - target))[:count]
