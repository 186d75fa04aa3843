"""Shared pieces of the DenseNAS benchmarks (timing, memory, building).

Timing: every measured call is bracketed by ``torch.cuda.synchronize()`` on
CUDA (and timed with CUDA events as a cross-check); on CPU by
``time.perf_counter``. Results are medians with the inter-quartile range.

Memory: on CUDA the peak of ``torch.cuda.max_memory_allocated`` during the
measured steps, minus what was allocated before them (plus the absolute
peak). On CPU there is no tensor allocator counter, so the peak resident set
size from ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is used: the kernel's
RSS high-water mark is reset before each case by writing ``5`` to
``/proc/self/clear_refs`` (Linux), and the reported number is that peak minus
the RSS at the start of the case. It counts everything the process touches
(allocator caches included), so it is an approximation of the step's working
memory; where the reset is not possible the field says so.
"""
import gc
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


# ------------------------------------------------------------------ timing
def sync(device: str) -> None:
    """Wait for queued device work (no-op on CPU)."""
    if device.startswith('cuda') and torch.cuda.is_available():
        torch.cuda.synchronize()


def summarize(times: List[float]) -> Dict[str, float]:
    """Median, quartiles, IQR, min and max of a list of seconds."""
    xs = sorted(times)
    if len(xs) >= 2:
        q1, _, q3 = statistics.quantiles(xs, n=4, method='inclusive')
    else:
        q1 = q3 = xs[0]
    return dict(
        median_s=statistics.median(xs),
        q1_s=q1,
        q3_s=q3,
        iqr_s=q3 - q1,
        min_s=xs[0],
        max_s=xs[-1],
        repeats=len(xs))


def time_calls(fn: Callable[[], Any], device: str, warmup: int,
               repeats: int) -> Dict[str, float]:
    """Time ``fn`` ``repeats`` times after ``warmup`` untimed calls.

    On CUDA each call is synchronised before and after, and also timed with
    CUDA events (``cuda_event_median_s``).
    """
    for _ in range(warmup):
        fn()
    sync(device)
    times, event_times = [], []
    cuda = device.startswith('cuda') and torch.cuda.is_available()
    for _ in range(repeats):
        if cuda:
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
            event_times.append(start.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    out = summarize(times)
    if event_times:
        out['cuda_event_median_s'] = statistics.median(event_times)
    return out


# ------------------------------------------------------------------ memory
def _rss_kib() -> Optional[int]:
    try:
        with open('/proc/self/statm') as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf('SC_PAGE_SIZE') // 1024
    except (OSError, ValueError, IndexError):
        return None


def _reset_rss_peak() -> bool:
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _malloc_trim() -> bool:
    """Return freed heap pages to the OS (glibc), so RSS tracks live
    memory; False where unavailable."""
    try:
        import ctypes
        return bool(ctypes.CDLL('libc.so.6').malloc_trim(0)) or True
    except (OSError, AttributeError):
        return False


def peak_memory_of(fn: Callable[[], Any], device: str) -> Dict[str, Any]:
    """Peak memory of one call of ``fn`` (run it after warm-up).

    CUDA: ``max_memory_allocated`` during the call minus the memory
    allocated before it (and the absolute peak). CPU: free heap pages are
    returned to the OS (``malloc_trim``), the kernel's RSS high-water mark is
    reset (``/proc/self/clear_refs``), and the peak RSS during the call
    (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) minus the RSS before it
    is reported. Persistent state (weights, optimiser state) is in the
    baseline; activations, gradients and temporaries are in the delta.
    """
    gc.collect()
    out: Dict[str, Any] = {}
    if device.startswith('cuda') and torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
        out.update(
            peak_mem_mib=(peak - before) / 2**20,
            peak_mem_abs_mib=peak / 2**20,
            mem_method='cuda max_memory_allocated minus allocated before')
        return out
    trimmed = _malloc_trim()
    reset = _reset_rss_peak()
    base = _rss_kib() if reset else None
    if base is None:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    out.update(
        peak_mem_mib=max(peak - base, 0) / 1024,
        peak_mem_abs_mib=peak / 1024,
        mem_method=('CPU: ru_maxrss (peak RSS) during one step after '
                    + ('malloc_trim + ' if trimmed else '') +
                    '/proc/self/clear_refs reset, minus RSS before it'
                    if reset else
                    'CPU: ru_maxrss growth over the process high-water mark '
                    '(no reset possible: 0 = not above an earlier peak)'))
    return out


# ----------------------------------------------------------------- machine
def machine_info() -> Dict[str, Any]:
    """CPU model, cores, load, versions and the GPU if any."""
    cpu = platform.processor() or ''
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    info: Dict[str, Any] = dict(
        cpu=cpu,
        cores=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        load=load(),
        python=platform.python_version(),
        torch=torch.__version__)
    for name in ('mmengine', 'mmcls', 'mmrazor', 'mmcv'):
        try:
            info[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001
            info[name] = None
    if torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name()
        info['cuda'] = torch.version.cuda
    return info


def load() -> Optional[str]:
    """``uptime``'s load averages."""
    try:
        return ' '.join(f'{x:.2f}' for x in os.getloadavg())
    except OSError:
        try:
            return subprocess.check_output(['uptime'], text=True).strip()
        except Exception:  # noqa: BLE001
            return None


def fmt(x: Optional[float], digits: int = 3) -> str:
    """Compact number formatting for tables (``-`` for None/NaN)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return '-'
    if abs(x) >= 100:
        return f'{x:.0f}'
    if abs(x) >= 10:
        return f'{x:.1f}'
    return f'{x:.{digits}g}'


# ------------------------------------------------------------- host syncs
def count_sync_points(fn: Callable[[], Any]) -> Dict[str, int]:
    """Count the ops in one call of ``fn`` that synchronise host and device
    when run on CUDA (counted on any device with a dispatch mode):

    - ``item``: ``aten._local_scalar_dense`` (``.item()``, ``float(t)``,
      ``bool(t)``, ``.tolist()`` of a 0-d tensor) -- a device-to-host copy;
    - ``index_from_list``: advanced indexing (``aten.index.Tensor`` /
      ``index_put_``) whose index is a CPU tensor; on CUDA it is copied to
      the device from pageable memory, a blocking copy;
    - ``to_cpu``: ``aten._to_copy`` to the CPU.
    """
    from torch.utils._python_dispatch import TorchDispatchMode
    aten = torch.ops.aten
    counts = dict(item=0, index_from_list=0, to_cpu=0)

    class Counter(TorchDispatchMode):

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func is aten._local_scalar_dense.default:
                counts['item'] += 1
            elif func in (aten.index.Tensor, aten.index_put_.default,
                          aten.index_put.default):
                idx = args[1]
                if any(isinstance(t, torch.Tensor) and t.device.type == 'cpu'
                       and t.dtype in (torch.long, torch.int)
                       for t in idx if t is not None):
                    counts['index_from_list'] += 1
            elif func is aten._to_copy.default:
                dev = kwargs.get('device')
                if dev is not None and torch.device(dev).type == 'cpu' and (
                        args[0].device.type != 'cpu'):
                    counts['to_cpu'] += 1
            return func(*args, **kwargs)

    with Counter():
        fn()
    counts['total'] = sum(counts.values())
    return counts
