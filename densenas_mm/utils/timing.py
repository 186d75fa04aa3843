"""The one timing loop of densenas_mm.

Every timed quantity of the project (latency-table entries, the latency
audit, whole-model latency, the search-step benchmarks) is measured by
:func:`time_samples`: ``warmup`` untimed calls, then timed samples of
``calls_per_sample`` back-to-back calls each (1 by default, 10 on the
``'cuda'`` clock), a sample being their time / k, read with the chosen clock
(``'wall'``: ``torch.utils.benchmark.timer``, which synchronises the current
accelerator before it reads the time; ``'cuda'``: CUDA events, see below).
Sampling stops after ``min_repeats`` samples once the relative standard
error of the mean is below ``rel_sem``, once the timed calls add up
to ``max_seconds``, or at ``max_repeats``. :func:`summarize` turns the
samples into :class:`TimingStats`; :class:`TimingResult` (samples + their
summary, in seconds or ms; both in :mod:`.timing_stats`) is what every
front end returns, and :func:`timed` runs the loop and returns one.

Three clocks: ``'wall'`` (the synchronised wall clock), ``'thread'``
(:func:`time.thread_time`, the CPU time of the calling thread) and
``'cuda'`` (CUDA events). On a CPU with one torch thread every op runs on
the calling thread, so its thread time is the op's latency without the time
the OS gave the core to other processes: on a shared machine it does not
grow with the neighbours' load. It is meaningless for CUDA or several
threads (the work runs elsewhere).

The ``'cuda'`` clock times one sample as ``calls_per_sample`` (k)
back-to-back calls between two CUDA events
(``torch.cuda.Event(enable_timing=True)``) recorded on the device's current
stream, then synchronises once and takes the events' elapsed time / k: the
GPU's time for the calls, with the launch overhead of one call spread over
k. The whole loop (warm-up included) runs with the timed device made the
current one (``torch.cuda.set_device``, restored afterwards), so
``cuda:1`` is timed on its own stream, not ``cuda:0``'s. For any clock, a
CUDA ``device`` is made current the same way.

:func:`keep_freed_memory` stops glibc from returning freed memory to the
OS, so repeated forwards do not page-fault (see its docstring), and
``drop_preempted`` leaves out calls the OS interrupted. Interleaved
rounds over several callables are built on this loop in :mod:`.rounds`.
"""
import ctypes
import ctypes.util
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Optional, Union

import torch
from torch.utils.benchmark import timer as synced_clock

from .timing_stats import TimingResult, summarize

try:
    import resource
except ImportError:  # not on Windows
    resource = None

CLOCKS = ('wall', 'thread', 'cuda')
#: Calls per sample of the ``'cuda'`` clock unless told otherwise: with
#: about 5-10 us of launch overhead per call, 10 back-to-back calls keep it
#: to ~1 us per call while a sample of the smallest table ops (tens of us
#: each) still lasts well above the events' ~0.5 us resolution.
CUDA_CALLS_PER_SAMPLE = 10
# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
KEEP_MEMORY = 'glibc-keep-freed'


def clock_fn(clock: str) -> Callable[[], float]:
    """The clock function of a host clock name (``'wall'`` or
    ``'thread'``; the ``'cuda'`` clock has none: it times with events).

    Raises:
        ValueError: For another name.
    """
    if clock == 'wall':
        return synced_clock
    if clock == 'thread':
        return time.thread_time
    if clock == 'cuda':
        raise ValueError("the 'cuda' clock times with CUDA events, not a "
                         'clock function; use time_samples')
    raise ValueError(f'clock must be one of {CLOCKS}, got {clock!r}')


def cuda_device(device: Union[str, torch.device, None]) -> Optional[int]:
    """Index of a CUDA ``device`` (``'cuda'`` is the current device), or
    None for any other device (or None)."""
    if device is None:
        return None
    device = torch.device(device)
    if device.type != 'cuda':
        return None
    return (torch.cuda.current_device()
            if device.index is None else device.index)


@contextmanager
def on_device(index: Optional[int]) -> Iterator[None]:
    """Make CUDA device ``index`` the current one inside (``set_device``,
    the previous one restored after); nothing for None."""
    if index is None:
        yield
        return
    previous = torch.cuda.current_device()
    torch.cuda.set_device(index)
    try:
        yield
    finally:
        torch.cuda.set_device(previous)


def calls_per_sample_for(clock: str, calls_per_sample: Optional[int]) -> int:
    """``calls_per_sample`` checked, or its default for ``clock``
    (:data:`CUDA_CALLS_PER_SAMPLE` for ``'cuda'``, else 1).

    Raises:
        ValueError: For a value below 1.
    """
    if calls_per_sample is None:
        return CUDA_CALLS_PER_SAMPLE if clock == 'cuda' else 1
    if int(calls_per_sample) < 1:
        raise ValueError(
            f'calls_per_sample must be >= 1, got {calls_per_sample}')
    return int(calls_per_sample)


def _host_sampler(fn: Callable[[], Any], clock: str,
                  calls: int) -> Callable[[], float]:
    now = clock_fn(clock)

    def sample() -> float:
        start = now()
        for _ in range(calls):
            fn()
        return (now() - start) / calls

    return sample


def _cuda_sampler(fn: Callable[[], Any], index: int,
                  calls: int) -> Callable[[], float]:

    def sample() -> float:
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(calls):
            fn()
        end.record()
        torch.cuda.synchronize(index)
        return start.elapsed_time(end) / 1e3 / calls  # ms -> s per call

    return sample


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
                 drop_preempted: bool = False,
                 device: Union[str, torch.device, None] = None,
                 calls_per_sample: Optional[int] = None) -> List[float]:
    """Seconds per call of ``fn``, one value per timed sample.

    Args:
        fn (callable): What to time, called without arguments.
        warmup (int): Untimed calls first (allocator, cuDNN autotuning).
        min_repeats (int): Samples at least.
        max_repeats (int, optional): Samples at most; defaults to
            ``min_repeats`` (a fixed number of samples).
        rel_sem (float, optional): After ``min_repeats``, stop once the
            relative standard error of the mean falls below this.
        max_seconds (float, optional): After ``min_repeats``, stop once the
            timed calls took this long in total.
        clock (str): ``'wall'`` (synchronised wall clock), ``'thread'``
            (CPU time of the calling thread; CPU, one thread only) or
            ``'cuda'`` (CUDA events; needs a CUDA ``device``).
        drop_preempted (bool): Leave out samples during which the OS took
            the core from the thread (an involuntary context switch: the
            call then ran with caches other processes had filled) and time
            another one instead, up to ``4 * max_repeats`` samples (and
            ``4 * max_seconds``) in all; when too few ran undisturbed, the
            fastest disturbed ones fill up to ``min_repeats``. No effect
            where the OS does not report it (see
            :func:`preemption_counter`), and ignored by the ``'cuda'``
            clock (the GPU's time does not depend on the host thread
            keeping its core).
        device (str | torch.device, optional): Where ``fn`` runs; a CUDA
            device is made the current one for the whole loop.
        calls_per_sample (int, optional): Back-to-back calls per sample
            (the sample is their time / k); default
            :data:`CUDA_CALLS_PER_SAMPLE` for ``'cuda'``, else 1.

    Returns:
        list[float]: One duration per call, per kept sample, in seconds.

    Raises:
        ValueError: Unless ``1 <= min_repeats <= max_repeats`` and
            ``warmup >= 0``, for an unknown clock, ``calls_per_sample < 1``,
            or the ``'cuda'`` clock without a CUDA device.
    """
    max_repeats = min_repeats if max_repeats is None else max_repeats
    if not 1 <= min_repeats <= max_repeats or warmup < 0:
        raise ValueError(
            'need warmup >= 0 and 1 <= min_repeats <= max_repeats (repeats '
            f'>= 1), got warmup={warmup}, min_repeats={min_repeats}, '
            f'max_repeats={max_repeats}')
    if clock not in CLOCKS:
        raise ValueError(f'clock must be one of {CLOCKS}, got {clock!r}')
    calls = calls_per_sample_for(clock, calls_per_sample)
    index = cuda_device(device)
    if clock == 'cuda':
        if index is None:
            raise ValueError(
                "clock='cuda' times with CUDA events and needs a CUDA device "
                f"(device='cuda' or 'cuda:N'), got device={device!r}; use "
                "clock 'wall' or 'thread' on the CPU")
        sample = _cuda_sampler(fn, index, calls)
        drop_preempted = False
    else:
        sample = _host_sampler(fn, clock, calls)
    with on_device(index):
        for _ in range(warmup):
            fn()
        if index is not None:
            torch.cuda.synchronize(index)
        return _sample_loop(sample, min_repeats, max_repeats, rel_sem,
                            max_seconds, calls,
                            preemption_counter() if drop_preempted else None)


Sampler = Callable[[], float]
Counter = Optional[Callable[[], int]]


def _sample_loop(sample: Sampler, min_repeats: int, max_repeats: int,
                 rel_sem: Optional[float], max_seconds: Optional[float],
                 calls: int, switches: Counter) -> List[float]:
    """The stopping rules of :func:`time_samples` over ``sample()`` (seconds
    per call of one sample of ``calls`` calls)."""
    samples: List[float] = []
    disturbed: List[float] = []
    spent = 0.0
    for _ in range(4 * max_repeats if switches else max_repeats):
        before = switches() if switches else 0
        took = sample()
        spent += took * calls
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
            ``clock``, ``drop_preempted``, ``device``,
            ``calls_per_sample``).
    """
    return TimingResult(time_samples(fn, **timing)).to(unit)
