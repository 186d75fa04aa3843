"""The one timing loop of densenas_mm, and the statistics of its samples.

Every timed quantity of the project (latency-table entries, the latency
audit, whole-model latency, the search-step benchmarks) is measured by
:func:`time_samples`: ``warmup`` untimed calls, then one timed call per
sample with ``torch.utils.benchmark.timer`` as the clock (it synchronises
the accelerator before it reads the time, so a CUDA call is timed to its
end). Sampling stops after ``min_repeats`` samples once the relative
standard error of the mean is below ``rel_sem``, once the timed calls add up
to ``max_seconds``, or at ``max_repeats``. :func:`summarize` turns the
samples into :class:`TimingStats`.
"""
import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

from torch.utils.benchmark import timer as synced_clock


@dataclass(frozen=True)
class TimingStats:
    """Statistics of timing samples, in the unit of the samples.

    Attributes:
        n (int): Number of samples.
        mean (float): Mean.
        std (float): Sample standard deviation (0 for one sample).
        median (float): Median.
        q1 (float): First quartile (inclusive method).
        q3 (float): Third quartile.
        p10 (float): 10th percentile (nearest rank).
        p90 (float): 90th percentile (nearest rank).
        min (float): Smallest sample.
        max (float): Largest sample.
    """
    n: int
    mean: float
    std: float
    median: float
    q1: float
    q3: float
    p10: float
    p90: float
    min: float
    max: float

    @property
    def iqr(self) -> float:
        """Inter-quartile range ``q3 - q1``."""
        return self.q3 - self.q1

    @property
    def rel_sem(self) -> float:
        """Relative standard error of the mean, ``std / sqrt(n) / mean``."""
        return relative_sem(self.mean, self.std, self.n)

    def to_dict(self) -> Dict[str, Any]:
        """Plain dict with ``iqr`` and ``rel_sem`` added."""
        return dict(asdict(self), iqr=self.iqr, rel_sem=self.rel_sem)


def relative_sem(mean: float, std: float, count: int) -> float:
    """Relative standard error of a mean: ``std / sqrt(count) / mean``."""
    return std / math.sqrt(count) / mean if mean > 0 else 0.0


def _nearest_rank(ordered: Sequence[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summarize(samples: Sequence[float]) -> TimingStats:
    """Statistics of a non-empty sequence of samples.

    Raises:
        ValueError: For an empty sequence.
    """
    if not samples:
        raise ValueError('summarize needs at least one sample')
    xs = sorted(float(s) for s in samples)
    if len(xs) >= 2:
        q1, _, q3 = statistics.quantiles(xs, n=4, method='inclusive')
        std = statistics.stdev(xs)
    else:
        q1 = q3 = xs[0]
        std = 0.0
    return TimingStats(
        n=len(xs),
        mean=statistics.fmean(xs),
        std=std,
        median=statistics.median(xs),
        q1=q1,
        q3=q3,
        p10=_nearest_rank(xs, 0.1),
        p90=_nearest_rank(xs, 0.9),
        min=xs[0],
        max=xs[-1])


def time_samples(fn: Callable[[], Any],
                 warmup: int = 3,
                 min_repeats: int = 5,
                 max_repeats: Optional[int] = None,
                 rel_sem: Optional[float] = None,
                 max_seconds: Optional[float] = None) -> List[float]:
    """Seconds taken by each timed call of ``fn``.

    Args:
        fn (callable): What to time, called without arguments.
        warmup (int): Untimed calls first (allocator, cuDNN autotuning).
        min_repeats (int): Timed calls at least.
        max_repeats (int, optional): Timed calls at most; defaults to
            ``min_repeats`` (a fixed number of samples).
        rel_sem (float, optional): After ``min_repeats``, stop once the
            relative standard error of the mean falls below this.
        max_seconds (float, optional): After ``min_repeats``, stop once the
            timed calls took this long in total.

    Returns:
        list[float]: One duration per timed call, in seconds.

    Raises:
        ValueError: Unless ``1 <= min_repeats <= max_repeats`` and
            ``warmup >= 0``.
    """
    max_repeats = min_repeats if max_repeats is None else max_repeats
    if not 1 <= min_repeats <= max_repeats or warmup < 0:
        raise ValueError(
            'need warmup >= 0 and 1 <= min_repeats <= max_repeats (repeats '
            f'>= 1), got warmup={warmup}, min_repeats={min_repeats}, '
            f'max_repeats={max_repeats}')
    for _ in range(warmup):
        fn()
    samples: List[float] = []
    while len(samples) < max_repeats:
        start = synced_clock()
        fn()
        samples.append(synced_clock() - start)
        if len(samples) < min_repeats:
            continue
        if rel_sem is not None and len(samples) > 1:
            stats = summarize(samples)
            if stats.rel_sem < rel_sem:
                break
        if max_seconds is not None and sum(samples) >= max_seconds:
            break
    return samples
