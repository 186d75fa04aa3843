"""Peak memory of one call, on CUDA (allocator) or CPU (peak RSS).

On CUDA the peak of ``torch.cuda.max_memory_allocated`` during the call,
minus what was allocated before it (plus the absolute peak). On CPU there is
no tensor allocator counter, so the peak resident set size from
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is used: the kernel's RSS
high-water mark is reset before the call by writing ``5`` to
``/proc/self/clear_refs`` (Linux), and the reported number is that peak
minus the RSS before the call. It counts everything the process touches
(allocator caches included), so it approximates the step's working memory;
where the reset is not possible the field says so.
"""
import gc
import os
import resource
from typing import Any, Callable, Dict, Optional

import torch


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
