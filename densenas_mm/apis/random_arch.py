"""Random architectures of a search space (the random-search baseline).

Random alphas and betas (``N(0, std)``) are set on a search config's
``DenseRoutingMutator`` and the architecture is derived exactly as after a
search (Viterbi path, argmax ops). :func:`matched_random_archs` draws many
and keeps the distinct ones whose LUT latency is closest to a target:
same-budget baselines.
"""
from typing import Any, Dict, List, Optional, Tuple

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
    from densenas_mm.utils.config_file import load_config
    cfg = config if isinstance(config, Config) else load_config(config)
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


def out_paths(out: str, count: int) -> List[str]:
    """``out`` for one architecture, ``<stem>_<k>.yaml`` for several."""
    if count == 1:
        return [out]
    stem = out[:-5] if out.endswith('.yaml') else out
    return [f'{stem}_{k}.yaml' for k in range(count)]


def write_random_archs(config: Any,
                       out: str,
                       seed: int = 0,
                       std: float = 3.0,
                       lut: Optional[str] = None,
                       match: Optional[str] = None,
                       samples: int = 200,
                       count: int = 1,
                       allow_noisy_lut: bool = False) -> str:
    """Derive ``count`` random architectures of ``config``'s space and
    write them (``tools/analysis/random_arch.py``'s job).

    Args:
        config (str | Config): A DenseNAS search config.
        out (str): Architecture YAML (``<stem>_<k>.yaml`` for several).
        seed (int): Seed of the random logits.
        std (float): Std of the random logits.
        lut (str, optional): Latency table (needed by ``match``).
        match (str, optional): Architecture YAML whose LUT latency the
            random ones should match (the closest of ``samples``).
        samples (int): Random architectures drawn for ``match``.
        count (int): How many architectures to write.
        allow_noisy_lut (bool): Use a table marked noisy (warns).

    Returns:
        str: What was written (paths, net configs, matched latencies).

    Raises:
        ValueError: ``match`` without ``lut``.
    """
    mutator = build_search_mutator(config)
    gen = torch.Generator().manual_seed(seed)
    lines = []
    if match:
        if not lut:
            raise ValueError('--match needs --lut')
        from densenas_mm.models.estimators import ChainedLatencyEstimator
        est = ChainedLatencyEstimator(
            lut=lut,
            metric='latency',
            target_device=None,
            allow_noisy_lut=allow_noisy_lut)
        est.bind(mutator.space)
        target = est.estimate(DerivedArch.load(match))['latency']
        picked = matched_random_archs(mutator, est, target, gen, count,
                                      samples, std)
        for lat, arch in picked:
            arch.meta.update(random_seed=seed, latency=round(lat, 4),
                             matched_latency=round(target, 4),
                             samples=samples)
        lines.append(f'{count} random arch(s), closest of {samples} by '
                     f'LUT latency to the target {target:.3f} ms: ' +
                     ', '.join(f'{lat:.3f} ms' for lat, _ in picked))
        archs = [arch for _, arch in picked]
    else:
        archs = [random_arch(mutator, gen, std) for _ in range(count)]
        for arch in archs:
            arch.meta.update(random_seed=seed)
    for arch, path in zip(archs, out_paths(out, count)):
        arch.meta['note'] = ('random architecture (baseline), not a search '
                             'result')
        arch.dump(path)
        lines.append(f'path {arch.path}, net_config: '
                     f'{arch.to_net_config()}\nwrote {path}')
    return '\n'.join(lines)
