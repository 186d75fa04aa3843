"""The statistics of timing samples: :class:`TimingStats` (what
:func:`summarize` makes of samples) and :class:`TimingResult` (samples in a
unit plus their summary), the one result shape of every timing front end.
The loop that takes the samples is :mod:`.timing`.
"""
import math
import statistics
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any, Dict, Sequence, Tuple

# Units of a TimingResult and their factor from seconds.
UNITS = {'s': 1.0, 'ms': 1e3}


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


@dataclass(frozen=True)
class TimingResult:
    """The samples of one timed run and their summary: the one result
    shape of every timing front end (latency tables and audits per round,
    single modules, whole models, benchmark steps).

    Attributes:
        samples (tuple[float]): One duration per kept timed call, in
            ``unit`` (non-empty; a sequence is stored as a tuple).
        unit (str): ``'s'`` or ``'ms'`` (see :data:`UNITS`).

    Raises:
        ValueError: For no samples or an unknown unit.
    """
    samples: Tuple[float, ...]
    unit: str = 's'

    def __post_init__(self) -> None:
        object.__setattr__(self, 'samples',
                           tuple(float(s) for s in self.samples))
        if not self.samples:
            raise ValueError('a TimingResult needs at least one sample')
        if self.unit not in UNITS:
            raise ValueError(f'unit must be one of {tuple(UNITS)}, got '
                             f'{self.unit!r}')

    @cached_property
    def stats(self) -> TimingStats:
        """:func:`summarize` of the samples (computed once)."""
        return summarize(self.samples)

    def to(self, unit: str) -> 'TimingResult':
        """The same samples in ``unit``.

        Raises:
            ValueError: For an unknown unit.
        """
        if unit not in UNITS:
            raise ValueError(f'unit must be one of {tuple(UNITS)}, got '
                             f'{unit!r}')
        if unit == self.unit:
            return self
        factor = UNITS[unit] / UNITS[self.unit]
        return TimingResult(tuple(factor * s for s in self.samples), unit)

    def summary(self, *fields: str) -> Dict[str, float]:
        """Named statistics as ``{'<field>_<unit>': value}`` plus
        ``repeats`` (the sample count).

        Args:
            *fields (str): Attributes of :class:`TimingStats` (``median``,
                ``iqr``, ``p90``, ...).

        Raises:
            ValueError: For a name :class:`TimingStats` does not have.
        """
        out = {}
        for name in fields:
            if name not in SUMMARY_FIELDS:
                raise ValueError(f'unknown timing statistic {name!r}; one '
                                 f'of {SUMMARY_FIELDS}')
            out[f'{name}_{self.unit}'] = getattr(self.stats, name)
        out['repeats'] = self.stats.n
        return out


# What TimingResult.summary can report.
SUMMARY_FIELDS = tuple(
    name for name in TimingStats.__dataclass_fields__ if name != 'n') + (
        'iqr', 'rel_sem')


__all__ = ['SUMMARY_FIELDS', 'TimingResult', 'TimingStats', 'UNITS',
           'relative_sem', 'summarize']
