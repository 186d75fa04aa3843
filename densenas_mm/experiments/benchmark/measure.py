"""Step timing of the benchmarks, with the project's one timing loop."""
from typing import Any, Callable, Dict, Sequence

from densenas_mm.utils.timing import summarize, time_samples


def timing_summary(samples: Sequence[float]) -> Dict[str, float]:
    """Median, quartiles, IQR, min and max of a list of seconds."""
    stats = summarize(samples)
    return dict(
        median_s=stats.median,
        q1_s=stats.q1,
        q3_s=stats.q3,
        iqr_s=stats.iqr,
        min_s=stats.min,
        max_s=stats.max,
        repeats=stats.n)


def time_calls(fn: Callable[[], Any], warmup: int,
               repeats: int) -> Dict[str, float]:
    """Time ``fn`` ``repeats`` times after ``warmup`` untimed calls."""
    return timing_summary(time_samples(fn, warmup, repeats))
