"""How well predicted whole-net latency matches measured latency.

:func:`prediction_accuracy` gives, for predictions against measurements,
the error numbers of issue 22's held-out check: mean / max absolute
relative error, the share within +-5 % and +-10 %, Kendall's tau overall
and within bins of +-5 % predicted latency, and the spread of measured
latency at equal predicted latency. Given a second measurement as the
"prediction" it gives the re-measurement agreement, the ceiling any
prediction can reach.
"""
from typing import Any, Dict, List, Sequence

import numpy as np

#: Half-width of the bins of "equal" predicted latency (relative).
BIN_HALF_WIDTH = 0.05


def equal_latency_bins(predicted: Sequence[float],
                       half_width: float = BIN_HALF_WIDTH) -> List[List[int]]:
    """Groups of nets of about equal predicted latency: in order of
    prediction, a bin starts at its lowest net and holds every net up to
    ``(1 + 2 * half_width)`` times it (so each lies within +-``half_width``
    of the bin's middle)."""
    order = sorted(range(len(predicted)), key=lambda i: predicted[i])
    bins: List[List[int]] = []
    for i in order:
        if bins and predicted[i] <= predicted[bins[-1][0]] * (
                1 + 2 * half_width):
            bins[-1].append(i)
        else:
            bins.append([i])
    return bins


def _pair_counts(pred: Sequence[float],
                 meas: Sequence[float]) -> Dict[str, int]:
    """Concordant and discordant pairs (ties in either count as neither)."""
    out = dict(concordant=0, discordant=0)
    for i in range(len(pred)):
        for j in range(i + 1, len(pred)):
            sign = np.sign(pred[i] - pred[j]) * np.sign(meas[i] - meas[j])
            if sign > 0:
                out['concordant'] += 1
            elif sign < 0:
                out['discordant'] += 1
    return out


def _tau(counts: Dict[str, int]) -> float:
    total = counts['concordant'] + counts['discordant']
    return ((counts['concordant'] - counts['discordant']) /
            total if total else float('nan'))


def prediction_accuracy(predicted: Sequence[float],
                        measured: Sequence[float],
                        half_width: float = BIN_HALF_WIDTH
                        ) -> Dict[str, Any]:
    """Error and rank numbers of ``predicted`` against ``measured`` (ms).

    Args:
        predicted (Sequence[float]): Predicted latency per net.
        measured (Sequence[float]): Measured latency per net (> 0).
        half_width (float): Half-width of the equal-latency bins.

    Returns:
        dict: ``nets``, ``mean_abs_rel_error``, ``max_abs_rel_error``,
        ``within_5pct``, ``within_10pct`` (shares), ``kendall_tau``
        (tau-a over all pairs; NaN for one net), ``kendall_tau_in_bins`` (pooled over the
        pairs of nets in one bin; NaN without such pairs),
        ``bin_pairs``, ``bins`` (per bin of >= 2 nets: ``nets``,
        ``predicted_ms`` range, ``measured_ms`` range, ``spread`` =
        (max - min) / mean of the measured), ``max_spread`` and
        ``median_spread`` over those bins.

    Raises:
        ValueError: For no nets or lengths that differ.
    """
    pred = np.asarray(predicted, dtype=float)
    meas = np.asarray(measured, dtype=float)
    if pred.shape != meas.shape or pred.size < 1:
        raise ValueError(f'need >= 1 net and as many predictions as '
                         f'measurements, got {pred.size} and {meas.size}')
    rel = np.abs(pred - meas) / meas
    in_bins = dict(concordant=0, discordant=0)
    bins = []
    for members in equal_latency_bins(list(pred), half_width):
        if len(members) < 2:
            continue
        counts = _pair_counts(pred[members], meas[members])
        for key in in_bins:
            in_bins[key] += counts[key]
        m = meas[members]
        bins.append(
            dict(nets=len(members),
                 predicted_ms=[float(pred[members].min()),
                               float(pred[members].max())],
                 measured_ms=[float(m.min()), float(m.max())],
                 spread=float((m.max() - m.min()) / m.mean())))
    spreads = [b['spread'] for b in bins]
    return dict(
        nets=int(pred.size),
        mean_abs_rel_error=float(rel.mean()),
        max_abs_rel_error=float(rel.max()),
        within_5pct=float((rel <= 0.05).mean()),
        within_10pct=float((rel <= 0.10).mean()),
        kendall_tau=_tau(_pair_counts(pred, meas)),
        kendall_tau_in_bins=_tau(in_bins),
        bin_pairs=in_bins['concordant'] + in_bins['discordant'],
        bins=bins,
        max_spread=float(max(spreads)) if spreads else float('nan'),
        median_spread=float(np.median(spreads)) if spreads else float('nan'))
