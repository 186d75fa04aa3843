"""Step timing of the benchmarks, with the project's one timing loop."""
from typing import Any, Callable, Dict, Sequence

from densenas_mm.utils.timing import timed
from densenas_mm.utils.timing_stats import TimingResult

# The statistics a benchmark reports (``<name>_s``).
REPORTED = ('median', 'q1', 'q3', 'iqr', 'min', 'max')


def timing_summary(samples: Sequence[float]) -> Dict[str, float]:
    """Median, quartiles, IQR, min and max of a list of seconds."""
    return TimingResult(tuple(samples)).summary(*REPORTED)


def time_calls(fn: Callable[[], Any],
               warmup: int,
               repeats: int,
               device: str = 'cpu') -> Dict[str, float]:
    """Time ``fn`` ``repeats`` times after ``warmup`` untimed calls.

    On a CUDA ``device`` each call is timed with CUDA events (the ``'cuda'``
    clock, one call per sample: a search step is long next to a launch)
    with the device made current; on the CPU with the wall clock.
    """
    on_cuda = str(device).split(':')[0] == 'cuda'
    return timed(
        fn,
        warmup=warmup,
        min_repeats=repeats,
        clock='cuda' if on_cuda else 'wall',
        device=device,
        calls_per_sample=1).summary(*REPORTED)
