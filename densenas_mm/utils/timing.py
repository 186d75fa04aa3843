"""The one timing loop of densenas_mm, and the statistics of its samples.

Every timed quantity of the project (latency-table entries, the latency
audit, whole-model latency, the search-step benchmarks) is measured by
:func:`time_samples`: ``warmup`` untimed calls, then one timed call per
sample with ``torch.utils.benchmark.timer`` as the clock (it synchronises
the accelerator before it reads the time, so a CUDA call is timed to its
end). Sampling stops after ``min_repeats`` samples once the relative
standard error of the mean is below ``rel_sem``, once the timed calls add up
to ``max_seconds``, or at ``max_repeats``. :func:`summarize` turns the
samples into :class:`TimingStats`; :class:`TimingResult` (samples + their
summary, in seconds or ms) is what every front end returns, and
:func:`timed` runs the loop and returns one.

Two clocks: ``'wall'`` (the synchronised wall clock) and ``'thread'``
(:func:`time.thread_time`, the CPU time of the calling thread). On a CPU
with one torch thread every op runs on the calling thread, so its thread
time is the op's latency without the time the OS gave the core to other
processes: on a shared machine it does not grow with the neighbours' load.
It is meaningless for CUDA or several threads (the work runs elsewhere).

:func:`keep_freed_memory` stops glibc from returning freed memory to the
OS, so repeated forwards do not page-fault (see its docstring), and
``drop_preempted`` leaves out calls the OS interrupted. Interleaved
rounds over several callables are built on this loop in :mod:`.rounds`.
"""
import ctypes
import ctypes.util
import math
import statistics
import time
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from torch.utils.benchmark import timer as synced_clock

try:
    import resource
except ImportError:  # not on Windows
    resource = None

CLOCKS = ('wall', 'thread')
# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
KEEP_MEMORY = 'glibc-keep-freed'
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


def clock_fn(clock: str) -> Callable[[], float]:
    """The clock function of a clock name (see :data:`CLOCKS`).

    Raises:
        ValueError: For another name.
    """
    if clock == 'wall':
        return synced_clock
    if clock == 'thread':
        return time.thread_time
    raise ValueError(f'clock must be one of {CLOCKS}, got {clock!r}')


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory in the process.

    By default glibc serves big blocks (every activation of a batch-32
    forward) with ``mmap`` and returns freed memory to the OS, so each
    forward page-faults its tensors in again: on the 2-core VM of
    ``docs/latency.md`` ~1,000-1,600 minor faults and 3.5-5.7 ms of system
    time per 10-15 ms demo net, a cost that differs between an op timed
    alone and the same op inside a net and grows with the machine's load.
    ``mallopt(M_MMAP_MAX, 0)`` and ``mallopt(M_TRIM_THRESHOLD, 2 GiB)``
    keep the memory (what jemalloc / tcmalloc do for CPU inference), so
    timed calls measure compute. Process-wide and permanent; the process
    keeps up to 2 GiB of freed memory.

    Returns:
        bool: Whether it was applied (False without glibc's ``mallopt``).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(
        mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))


def preemption_counter() -> Optional[Callable[[], int]]:
    """Involuntary context switches of the calling thread so far, as a
    callable (``getrusage(RUSAGE_THREAD).ru_nivcsw``), or None where the OS
    does not report them per thread (not Linux)."""
    who = getattr(resource, 'RUSAGE_THREAD', None) if resource else None
    if who is None:
        return None
    return lambda: resource.getrusage(who).ru_nivcsw


def time_samples(fn: Callable[[], Any],
                 warmup: int = 3,
                 min_repeats: int = 5,
                 max_repeats: Optional[int] = None,
                 rel_sem: Optional[float] = None,
                 max_seconds: Optional[float] = None,
                 clock: str = 'wall',
                 drop_preempted: bool = False) -> List[float]:
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
        clock (str): ``'wall'`` (synchronised wall clock) or ``'thread'``
            (CPU time of the calling thread; CPU, one thread only).
        drop_preempted (bool): Leave out calls during which the OS took the
            core from the thread (an involuntary context switch: the call
            then ran with caches other processes had filled) and time
            another one instead, up to ``4 * max_repeats`` calls (and
            ``4 * max_seconds``) in all; when too few calls ran undisturbed,
            the fastest disturbed ones fill up to ``min_repeats``. No effect
            where the OS does not report it (see
            :func:`preemption_counter`).

    Returns:
        list[float]: One duration per kept timed call, in seconds.

    Raises:
        ValueError: Unless ``1 <= min_repeats <= max_repeats`` and
            ``warmup >= 0``, or for an unknown clock.
    """
    max_repeats = min_repeats if max_repeats is None else max_repeats
    if not 1 <= min_repeats <= max_repeats or warmup < 0:
        raise ValueError(
            'need warmup >= 0 and 1 <= min_repeats <= max_repeats (repeats '
            f'>= 1), got warmup={warmup}, min_repeats={min_repeats}, '
            f'max_repeats={max_repeats}')
    now = clock_fn(clock)
    switches = preemption_counter() if drop_preempted else None
    for _ in range(warmup):
        fn()
    samples: List[float] = []
    disturbed: List[float] = []
    spent = 0.0
    for _ in range(4 * max_repeats if switches else max_repeats):
        before = switches() if switches else 0
        start = now()
        fn()
        took = now() - start
        spent += took
        if switches and switches() != before:
            disturbed.append(took)
        else:
            samples.append(took)
        if len(samples) >= max_repeats:
            break
        if (disturbed and max_seconds is not None and spent >= 4 * max_seconds
                and len(samples) + len(disturbed) >= min_repeats):
            break  # calls keep being interrupted: stop, fill up below
        if len(samples) < min_repeats:
            continue
        if rel_sem is not None and len(samples) > 1:
            stats = summarize(samples)
            if stats.rel_sem < rel_sem:
                break
        if max_seconds is not None and spent >= max_seconds:
            break
    missing = min_repeats - len(samples)
    if missing > 0:
        samples += sorted(disturbed)[:missing]
    return samples


def timed(fn: Callable[[], Any], unit: str = 's',
          **timing: Any) -> TimingResult:
    """:func:`time_samples` of ``fn`` as a :class:`TimingResult`.

    Args:
        fn (callable): What to time, called without arguments.
        unit (str): Unit of the result (``'s'`` or ``'ms'``).
        **timing: Arguments of :func:`time_samples` (``warmup``,
            ``min_repeats``, ``max_repeats``, ``rel_sem``, ``max_seconds``,
            ``clock``, ``drop_preempted``).
    """
    return TimingResult(time_samples(fn, **timing)).to(unit)
