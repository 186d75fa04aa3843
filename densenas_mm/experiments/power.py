"""Power of the searched-vs-random comparison, and the signal check's
summary of its table.

* :func:`detectable_difference` is the power computation of the comparison
  protocol (``n_searched`` searched nets, ``m`` random nets for each, ``S``
  seeds each): the smallest true difference of means that a two-sided test
  at level ``alpha`` detects with the given power, by the analytic normal
  approximation; :func:`simulated_power` checks it by simulating the
  random-effects model of :mod:`.stats` and counting how often the
  hierarchical bootstrap CI excludes zero.
* :func:`summarize` is everything a signal check reports: variance
  components, their CIs and the power of the planned comparison.

numpy only; every random draw comes from a seeded ``numpy`` generator.
"""
from statistics import NormalDist
from typing import Any, Dict, List, Optional

import numpy as np

from .stats import Groups, anova, diff_bootstrap, icc_bootstrap


def diff_se(var_arch: float, var_seed: float, n_searched: int,
            n_random: int, seeds: int) -> float:
    """Standard error of (mean of searched nets) - (mean of random nets)
    under the random-effects model, searched nets spread like random ones.

    Args:
        var_arch (float): sigma_arch^2.
        var_seed (float): sigma_seed^2.
        n_searched (int): Searched nets (search seeds).
        n_random (int): Random nets per searched net (``n_searched *
            n_random`` random nets in all).
        seeds (int): Retrain seeds of every net.
    """
    if min(n_searched, n_random, seeds) < 1:
        raise ValueError('n_searched, n_random and seeds must be >= 1')
    per_net = var_arch + var_seed / seeds
    return float(np.sqrt(per_net / n_searched +
                         per_net / (n_searched * n_random)))


def detectable_difference(var_arch: float,
                          var_seed: float,
                          n_searched: int = 4,
                          n_random: int = 10,
                          seeds: int = 3,
                          alpha: float = 0.05,
                          power: float = 0.8) -> float:
    """Smallest true searched-minus-random difference (top-1 points) that a
    two-sided level-``alpha`` test detects with probability ``power``:
    ``(z_{1-alpha/2} + z_power) * diff_se(...)`` (analytic normal
    approximation; the bootstrap CI of :func:`~.stats.diff_bootstrap` is close to
    the normal interval for these sizes, :func:`simulated_power` checks
    it).
    """
    z = NormalDist()
    return float((z.inv_cdf(1 - alpha / 2) + z.inv_cdf(power)) *
                 diff_se(var_arch, var_seed, n_searched, n_random, seeds))


def simulate_table(n_nets: int, seeds: int, sd_arch: float, sd_seed: float,
                   rng: np.random.Generator,
                   shift: float = 0.0) -> List[List[float]]:
    """Synthetic top-1 table of the random-effects model (``n_nets``
    architectures x ``seeds`` seeds, means ``shift``)."""
    arch = rng.normal(shift, sd_arch, size=(n_nets, 1))
    return (arch + rng.normal(0.0, sd_seed, size=(n_nets, seeds))).tolist()


def simulated_power(delta: float,
                    var_arch: float,
                    var_seed: float,
                    n_searched: int = 4,
                    n_random: int = 10,
                    seeds: int = 3,
                    level: float = 0.95,
                    sims: int = 200,
                    reps: int = 500,
                    seed: int = 0) -> float:
    """Share of simulated protocols (true difference ``delta``) whose
    hierarchical bootstrap CI (:func:`~.stats.diff_bootstrap`) excludes zero.

    Returns:
        float: The estimated power (Monte Carlo error about
        ``sqrt(p (1 - p) / sims)``).
    """
    rng = np.random.default_rng(seed)
    sa, ss = float(np.sqrt(var_arch)), float(np.sqrt(var_seed))
    hits = 0
    for i in range(sims):
        a = simulate_table(n_searched, seeds, sa, ss, rng, shift=delta)
        b = simulate_table(n_searched * n_random, seeds, sa, ss, rng)
        lo, hi = diff_bootstrap(a, b, reps, level, seed=seed + 1 + i)['ci']
        hits += bool(lo > 0 or hi < 0)
    return hits / sims


def summarize(groups: Groups,
              n_searched: int = 4,
              n_random: int = 10,
              seeds: Optional[int] = None,
              reps: int = 2000,
              seed: int = 0) -> Dict[str, Any]:
    """Everything a signal check reports about its table.

    Args:
        groups: One sequence of top-1 values per architecture.
        n_searched (int): Searched nets of the planned comparison.
        n_random (int): Random nets per searched net in it.
        seeds (int, optional): Its retrain seeds (default: the largest
            group size of ``groups``).
        reps (int): Bootstrap replicates of the CIs.
        seed (int): Seed of the bootstrap.

    Returns:
        dict: ``anova`` (:class:`Anova` fields), ``ci`` (ICC and SD of means,
        95 %), ``power`` (the planned protocol and the smallest difference it
        detects with 80 % power at alpha 0.05, normal approximation, plus
        the same for 1, 2, 3, 5 and 10 seeds).
    """
    res = anova(groups)
    seeds = seeds or max(len(g) for g in groups)
    ci = icc_bootstrap(groups, reps=reps, seed=seed)

    def detect(s: int) -> float:
        return detectable_difference(res.var_arch, res.var_seed, n_searched,
                                     n_random, s)

    return dict(
        anova=res.as_dict(),
        ci=dict(level=0.95, reps=reps, **ci),
        power=dict(method='analytic normal approximation', alpha=0.05,
                   power=0.8, n_searched=n_searched, n_random=n_random,
                   seeds=seeds, detectable=detect(seeds),
                   by_seeds={str(s): detect(s) for s in (1, 2, 3, 5, 10)}))


__all__ = [
    'detectable_difference', 'diff_se', 'simulate_table', 'simulated_power',
    'summarize'
]
