"""Step timing of the benchmarks, with the project's one timing loop."""
from typing import Any, Callable, Dict, Sequence

from densenas_mm.utils.timing import TimingResult, timed

# The statistics a benchmark reports (``<name>_s``).
REPORTED = ('median', 'q1', 'q3', 'iqr', 'min', 'max')


def timing_summary(samples: Sequence[float]) -> Dict[str, float]:
    """Median, quartiles, IQR, min and max of a list of seconds."""
    return TimingResult(tuple(samples)).summary(*REPORTED)


def time_calls(fn: Callable[[], Any], warmup: int,
               repeats: int) -> Dict[str, float]:
    """Time ``fn`` ``repeats`` times after ``warmup`` untimed calls."""
    return timed(fn, warmup=warmup, min_repeats=repeats).summary(*REPORTED)
