"""Rank agreement of a score with retrained top-1, and its seed ceiling.

A ranking study has, for each of ``K`` nets, one or more scores (e.g. the
supernet's validation top-1 of the net, the path's log-probability) and the
net's retrained top-1 with several seeds (a ``K x S`` table). This module
gives:

* :func:`rank_correlations`: Kendall's tau-b and Spearman's rho (with their
  p-values; ``scipy.stats``) of a score against the per-net mean top-1;
* :func:`kendall_rows` / :func:`spearman_rows`: the same statistics for many
  samples at once (numpy, one sample per row; tau-b counts concordant and
  discordant pairs, ties left out of both, as ``scipy.stats.kendalltau``;
  Spearman is Pearson's correlation of average ranks), what the bootstrap
  runs on;
* :func:`rank_bootstrap`: percentile CIs by resampling **nets** with
  replacement (the nets are the sample; each keeps its score and its mean);
* :func:`seed_ceiling`: what seed-vs-seed agreement of the same retrains
  allows: the mean over all seed pairs of the correlation between the two
  seeds' top-1 columns (``pairs``), and the mean over seeds of the
  correlation between one seed's column and the mean of the other seeds
  (``leave_one_out``), each with the same bootstrap over nets; and the
  model-based ceiling of the random-effects model (:mod:`.stats`): the
  Pearson correlation between the true per-net effect and the per-net mean
  of ``S`` seeds, ``sqrt(var_arch / (var_arch + var_seed / S))``.

numpy and scipy only; every random draw comes from a seeded ``numpy``
generator.
"""
import warnings
from itertools import combinations
from typing import Any, Dict, Sequence

import numpy as np

from .stats import anova, percentile_ci

#: The statistics every function here reports, by key.
STATISTICS = ('kendall_tau', 'spearman_rho')


def _pair_signs(values: np.ndarray) -> np.ndarray:
    """``sign(v[..., i] - v[..., j])`` for every pair ``i < j`` of the last
    axis: shape ``(..., n (n - 1) / 2)``."""
    i, j = np.triu_indices(values.shape[-1], k=1)
    return np.sign(values[..., i] - values[..., j])


def kendall_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of every row of ``x`` with the same row of ``y``.

    ``(n_c - n_d) / sqrt((n_0 - n_x) (n_0 - n_y))`` with ``n_x`` / ``n_y``
    the pairs tied in ``x`` / ``y``: as ``scipy.stats.kendalltau``'s
    default. NaN for a row that is constant in ``x`` or ``y``.

    Args:
        x (np.ndarray): Shape ``(rows, n)`` (or ``(n,)``).
        y (np.ndarray): The same shape.

    Returns:
        np.ndarray: Shape ``(rows,)`` (a 0-d array for 1-d input).
    """
    sx = _pair_signs(np.asarray(x, dtype=float))
    sy = _pair_signs(np.asarray(y, dtype=float))
    denom = np.sqrt((sx != 0).sum(-1) * (sy != 0).sum(-1).astype(float))
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(denom > 0, (sx * sy).sum(-1) / denom, np.nan)


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of every row of ``x`` with the same row of ``y``:
    Pearson's correlation of the average ranks (ties get the mean of their
    ranks). NaN for a constant row.

    Args:
        x (np.ndarray): Shape ``(rows, n)`` (or ``(n,)``).
        y (np.ndarray): The same shape.
    """
    from scipy.stats import rankdata
    rx = rankdata(np.asarray(x, dtype=float), axis=-1)
    ry = rankdata(np.asarray(y, dtype=float), axis=-1)
    rx = rx - rx.mean(-1, keepdims=True)
    ry = ry - ry.mean(-1, keepdims=True)
    denom = np.sqrt((rx**2).sum(-1) * (ry**2).sum(-1))
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(denom > 0, (rx * ry).sum(-1) / denom, np.nan)


def _check_pair(x: Sequence[float], y: Sequence[float]):
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.ndim != 1 or xa.shape != ya.shape:
        raise ValueError(f'need two equally long sequences, got shapes '
                         f'{xa.shape} and {ya.shape}')
    if len(xa) < 3:
        raise ValueError(f'rank correlations need at least 3 nets, got '
                         f'{len(xa)}')
    if not (np.isfinite(xa).all() and np.isfinite(ya).all()):
        raise ValueError('the scores and top-1 values must be finite')
    return xa, ya


def rank_correlations(x: Sequence[float],
                      y: Sequence[float]) -> Dict[str, float]:
    """Kendall's tau-b and Spearman's rho of ``x`` vs ``y`` with their
    two-sided p-values against no association (``scipy.stats``); NaN when
    ``x`` or ``y`` is constant (e.g. a supernet that scores every net
    alike).

    Raises:
        ValueError: Unequal lengths, fewer than 3 values, non-finite ones.
    """
    from scipy.stats import kendalltau, spearmanr
    xa, ya = _check_pair(x, y)
    with warnings.catch_warnings():  # constant input: NaN, said above
        warnings.simplefilter('ignore')
        tau = kendalltau(xa, ya)
        rho = spearmanr(xa, ya)
    return dict(kendall_tau=float(tau.statistic), kendall_p=float(tau.pvalue),
                spearman_rho=float(rho.statistic),
                spearman_p=float(rho.pvalue))


def _net_draws(n: int, reps: int, seed: int) -> np.ndarray:
    """``(reps, n)`` net indices drawn with replacement."""
    return np.random.default_rng(seed).integers(0, n, size=(reps, n))


def rank_bootstrap(x: Sequence[float],
                   y: Sequence[float],
                   reps: int = 2000,
                   level: float = 0.95,
                   seed: int = 0) -> Dict[str, Any]:
    """:func:`rank_correlations` with percentile CIs from resampling the
    nets (pairs ``(x_i, y_i)``) with replacement.

    Args:
        x (Sequence[float]): One score per net.
        y (Sequence[float]): One value per net (its mean top-1).
        reps (int): Bootstrap replicates.
        level (float): Confidence level.
        seed (int): Seed of the resampling.

    Returns:
        dict: :func:`rank_correlations`' keys plus ``kendall_tau_ci`` and
        ``spearman_rho_ci`` (low, high), ``level``, ``reps``.
    """
    xa, ya = _check_pair(x, y)
    pick = _net_draws(len(xa), reps, seed)
    out = rank_correlations(xa, ya)
    out['kendall_tau_ci'] = percentile_ci(kendall_rows(xa[pick], ya[pick]),
                                          level)
    out['spearman_rho_ci'] = percentile_ci(
        spearman_rows(xa[pick], ya[pick]), level)
    out.update(level=level, reps=reps)
    return out


def _ceiling_stats(table: np.ndarray, pick: np.ndarray) -> Dict[str, Any]:
    """Pair and leave-one-out statistics of a ``(K, S)`` table for the net
    draws ``pick`` (``(rows, K)``): arrays of shape ``(rows,)`` per key."""
    s = table.shape[1]
    cols = table[pick]  # (rows, K, S)
    out = {}
    fns = dict(kendall_tau=kendall_rows, spearman_rho=spearman_rows)
    for key, fn in fns.items():
        pairs = [fn(cols[..., a], cols[..., b])
                 for a, b in combinations(range(s), 2)]
        loo = [fn(cols[..., a],
                  np.delete(cols, a, axis=-1).mean(-1)) for a in range(s)]
        out[f'pairs_{key}'] = np.mean(pairs, axis=0)
        out[f'leave_one_out_{key}'] = np.mean(loo, axis=0)
    return out


def seed_ceiling(top1: Sequence[Sequence[float]],
                 reps: int = 2000,
                 level: float = 0.95,
                 seed: int = 0) -> Dict[str, Any]:
    """How well the retrains agree with themselves: the ceiling a score's
    agreement with the per-net mean top-1 is read against.

    Args:
        top1: ``K`` rows (nets) of ``S >= 2`` top-1 values, column ``s``
            the same retrain seed for every net.
        reps (int): Bootstrap replicates (nets resampled, as
            :func:`rank_bootstrap`).
        level (float): Confidence level.
        seed (int): Seed of the resampling.

    Returns:
        dict: For ``pairs`` (the mean over the ``S (S - 1) / 2`` seed pairs
        of the correlation between the two seeds' columns) and
        ``leave_one_out`` (the mean over seeds ``s`` of the correlation
        between column ``s`` and the mean of the other columns), each with
        ``kendall_tau``, ``spearman_rho`` and their ``*_ci``; ``model``:
        ``sqrt(var_arch / (var_arch + var_seed / S))`` of the one-way
        random-effects ANOVA (the Pearson correlation a perfect score of
        the true per-net effect would reach with the ``S``-seed means; 0
        when the ANOVA finds no architecture variance); ``seeds`` ``S``.

    Raises:
        ValueError: Fewer than 3 nets, fewer than 2 seeds, unequal rows or
            non-finite values.
    """
    table = np.asarray(top1, dtype=float)
    if table.ndim != 2 or table.shape[0] < 3 or table.shape[1] < 2:
        raise ValueError('the seed ceiling needs a table of at least 3 nets '
                         'x 2 seeds with the same seeds for every net, got '
                         f'shape {table.shape}')
    if not np.isfinite(table).all():
        raise ValueError('the top-1 values must be finite')
    point = {k: float(v[0]) for k, v in _ceiling_stats(
        table, np.arange(len(table))[None]).items()}
    boots = _ceiling_stats(table, _net_draws(len(table), reps, seed))
    out: Dict[str, Any] = dict(seeds=table.shape[1], level=level, reps=reps)
    for kind in ('pairs', 'leave_one_out'):
        out[kind] = {}
        for key in STATISTICS:
            out[kind][key] = point[f'{kind}_{key}']
            out[kind][f'{key}_ci'] = percentile_ci(boots[f'{kind}_{key}'],
                                                   level)
    res = anova(table.tolist())
    total = res.var_arch + res.var_seed / table.shape[1]
    out['model'] = dict(
        pearson=float(np.sqrt(res.var_arch / total)) if total > 0 else
        float('nan'),
        var_arch=res.var_arch, var_seed=res.var_seed)
    return out


__all__ = [
    'STATISTICS', 'kendall_rows', 'rank_bootstrap', 'rank_correlations',
    'seed_ceiling', 'spearman_rows'
]
