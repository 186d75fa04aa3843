"""Statistics of one arm against its latency-matched random nets.

In the searched-vs-random protocol (:mod:`.search_vs_random`) every arm
(searched nets, RS-WS nets, hand-designed nets) has one net per search
seed ``k``, and search seed ``k`` has its own matched random nets (the
pool's nets within its latency window). Each net is retrained with the
same seeds of one shared seed list. For an arm this module reports:

* the **difference of means** (arm minus random) with the hierarchical
  bootstrap 95 % CI of :func:`.stats.diff_bootstrap` (nets resampled, then
  seeds within each net), pooled over the search seeds (the random arm is
  every window's nets, concatenated: each window counts with its own nets,
  a net shared by two windows counts in both) and per search seed;
* each net's **percentile** among its random nets (:func:`percentile_among`:
  the share of them whose mean top-1 is below the net's, ties counting
  half, in %);
* an arm's **mean** with its CI (:func:`arm_mean`);
* the share of **pairs it wins** (:func:`pair_wins`): over every (random
  net, retrain seed) pair, whether the net's top-1 with that seed beats
  the random net's top-1 with the same seed (ties half); pairs are matched
  by seed because a seed fixes the data order and the initialisation
  draw.

numpy only.
"""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from . import stats

#: Per-seed top-1 of one net: retrain seed -> top-1.
SeedScores = Dict[int, float]


def percentile_among(value: float, others: Sequence[float]) -> float:
    """Percentile of ``value`` among ``others``: 100 * (below + ties / 2) /
    len(others).

    Raises:
        ValueError: If ``others`` is empty.
    """
    if len(others) == 0:
        raise ValueError('a percentile needs at least one other value')
    arr = np.asarray(others, dtype=float)
    below = float((arr < value).sum()) + 0.5 * float((arr == value).sum())
    return 100.0 * below / len(arr)


def pair_wins(net: SeedScores,
              randoms: Sequence[SeedScores]) -> Dict[str, float]:
    """Seed-matched pairs a net wins against random nets.

    Args:
        net (dict): Retrain seed -> top-1 of the net.
        randoms (Sequence[dict]): The same for each random net.

    Returns:
        dict: ``wins`` (ties count half), ``pairs`` (pairs with the seed
        retrained on both sides) and ``share`` (NaN without pairs).
    """
    wins, pairs = 0.0, 0
    for other in randoms:
        for seed, top in net.items():
            if seed in other:
                pairs += 1
                wins += 1.0 if top > other[seed] else (
                    0.5 if top == other[seed] else 0.0)
    return dict(wins=wins, pairs=pairs,
                share=wins / pairs if pairs else float('nan'))


def _mean(scores: SeedScores) -> float:
    return float(np.mean(list(scores.values())))


def compare_arm(arm: Sequence[Optional[SeedScores]],
                randoms: Sequence[Sequence[SeedScores]],
                reps: int = 2000,
                seed: int = 0) -> Dict[str, Any]:
    """One arm against its matched random nets.

    Args:
        arm (Sequence[dict | None]): For each search seed, the arm's net
            (retrain seed -> top-1), None where it has no finished run.
        randoms (Sequence[Sequence[dict]]): For each search seed, its
            random nets (nets without a finished run left out).
        reps (int): Bootstrap replicates.
        seed (int): Seed of the bootstrap.

    Returns:
        dict: ``pooled`` (``diff``, ``ci``, ``n_nets``, ``n_random``,
        ``pair_share``) or None when no search seed has both sides, and
        ``per_seed``: one entry per search seed (``diff``, ``ci``,
        ``percentile``, ``pair_share``, ``pairs``, ``mean``,
        ``random_mean``, ``random_sd``, ``n_random``; None where a side is
        missing).

    Raises:
        ValueError: If ``arm`` and ``randoms`` differ in length.
    """
    if len(arm) != len(randoms):
        raise ValueError(f'{len(arm)} arm nets but {len(randoms)} random '
                         'sets: one of each per search seed')
    per_seed: List[Optional[Dict[str, Any]]] = []
    pooled_a, pooled_b = [], []
    wins, pairs = 0.0, 0
    for k, (net, rand) in enumerate(zip(arm, randoms)):
        if not net or not rand:
            per_seed.append(None)
            continue
        rand_means = [_mean(r) for r in rand]
        boot = stats.diff_bootstrap([list(net.values())],
                                    [list(r.values()) for r in rand], reps,
                                    seed=seed + 1 + k)
        won = pair_wins(net, rand)
        wins, pairs = wins + won['wins'], pairs + won['pairs']
        pooled_a.append(list(net.values()))
        pooled_b += [list(r.values()) for r in rand]
        per_seed.append(dict(
            diff=boot['diff'], ci=list(boot['ci']),
            percentile=percentile_among(_mean(net), rand_means),
            pair_share=won['share'], pairs=won['pairs'], mean=_mean(net),
            random_mean=float(np.mean(rand_means)),
            random_sd=(float(np.std(rand_means, ddof=1))
                       if len(rand_means) > 1 else None),
            n_random=len(rand)))
    pooled = None
    if pooled_a:
        boot = stats.diff_bootstrap(pooled_a, pooled_b, reps, seed=seed)
        pooled = dict(diff=boot['diff'], ci=list(boot['ci']),
                      n_nets=len(pooled_a), n_random=len(pooled_b),
                      pair_share=wins / pairs if pairs else float('nan'),
                      pairs=pairs)
    return dict(pooled=pooled, per_seed=per_seed)


def arm_mean(nets: Sequence[SeedScores],
             reps: int = 2000,
             seed: int = 0) -> Optional[Dict[str, Any]]:
    """Mean top-1 of an arm's nets (the mean of net means) with the
    hierarchical bootstrap 95 % CI of :func:`.stats.mean_bootstrap` (nets
    resampled, then seeds; for one net its seeds only); None without a
    finished net.

    Returns:
        dict, optional: ``mean``, ``ci``, ``n_nets``, ``n_runs``.
    """
    groups = [list(n.values()) for n in nets if n]
    if not groups:
        return None
    boot = stats.mean_bootstrap(groups, reps, seed=seed)
    return dict(mean=boot['mean'], ci=list(boot['ci']), n_nets=len(groups),
                n_runs=sum(len(g) for g in groups))


def compare_arms(arm_a: Sequence[Optional[SeedScores]],
                 arm_b: Sequence[Optional[SeedScores]],
                 reps: int = 2000,
                 seed: int = 0) -> Optional[Dict[str, Any]]:
    """Two arms of one net per search seed (e.g. searched minus RS-WS):
    the difference of means over the search seeds where both have a net,
    with the hierarchical bootstrap CI; None when there is none."""
    both = [(a, b) for a, b in zip(arm_a, arm_b) if a and b]
    if not both:
        return None
    boot = stats.diff_bootstrap([list(a.values()) for a, _ in both],
                                [list(b.values()) for _, b in both], reps,
                                seed=seed)
    return dict(diff=boot['diff'], ci=list(boot['ci']), n_nets=len(both))


__all__ = [
    'SeedScores', 'arm_mean', 'compare_arm', 'compare_arms', 'pair_wins',
    'percentile_among'
]
