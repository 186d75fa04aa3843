"""Timing of modules at their input shapes, and the environment record.

Forward only, under ``torch.no_grad`` in eval mode, timed by the project's
one timing loop (:mod:`densenas_mm.utils.timing`). :func:`time_modules`
times several modules in interleaved rounds (what tables and the audit
use); :func:`time_module` times one module in one run of samples (plain
modules given to the estimator). :func:`resolve_clock` picks the clock:
on a CUDA device the ``'cuda'`` clock (CUDA events over ``calls_per_sample``
back-to-back calls, the device made current; see
:mod:`densenas_mm.utils.timing`). :func:`environment` describes the device
for a table's metadata, on CUDA with the backend flags that change GPU
timings (:func:`cuda_flags`).
"""
import platform
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import (Any, Dict, Hashable, Iterator, List, Mapping, Optional,
                    Tuple)

import torch
import torch.nn as nn

from densenas_mm.utils.rounds import time_rounds
from densenas_mm.utils.timing import (CLOCKS, KEEP_MEMORY, keep_freed_memory,
                                      timed)
from densenas_mm.utils.timing_stats import TimingResult


def cpu_name() -> str:
    """Model name of the CPU (from /proc/cpuinfo when available)."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.lower().startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown CPU'


def check_device(device: str) -> str:
    """Normalise ``device`` ('cpu' / 'cuda' / 'cuda:N').

    Raises:
        RuntimeError: For CUDA on a machine without it, saying so.
        ValueError: For other device strings.
    """
    device = str(device)
    if device == 'cpu':
        return device
    if device.split(':')[0] == 'cuda':
        if not torch.cuda.is_available():
            raise RuntimeError(
                f'--device {device} was requested but CUDA is not available '
                'in this torch build / machine; use --device cpu or run on a '
                'GPU machine')
        return device
    raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {device!r}")


def device_name(device: str = 'cpu') -> str:
    """Human-readable name of ``device`` used in table metadata."""
    if str(device).startswith('cuda'):
        return torch.cuda.get_device_name(torch.device(device))
    return f'CPU {cpu_name()} ({torch.get_num_threads()} threads)'


def current_device_name() -> str:
    """Name of the device a run here would use (CUDA when available)."""
    return device_name('cuda' if torch.cuda.is_available() else 'cpu')


def environment(device: str) -> Dict[str, Any]:
    """Device and software versions for table metadata; on CUDA also the
    GPU's name (``gpu_name``) and the backend flags (:func:`cuda_flags`),
    absent for the CPU."""
    is_cuda = str(device).startswith('cuda')
    cudnn = None
    if is_cuda and torch.backends.cudnn.is_available():
        cudnn = torch.backends.cudnn.version()
    env = dict(
        device=device_name(device),
        device_type='cuda' if is_cuda else 'cpu',
        torch=torch.__version__,
        cuda=torch.version.cuda if is_cuda else None,
        cudnn=cudnn,
        num_threads=torch.get_num_threads(),
        python=platform.python_version(),
        platform=platform.platform())
    if is_cuda:
        env.update(cuda_flags(), gpu_name=device_name(device))
    return env


def cuda_flags() -> Dict[str, bool]:
    """The CUDA backend flags in effect that change GPU timings (cuDNN's
    autotuner, TF32 in convolutions and matmuls), under the metadata keys
    of :data:`~.schema.CUDA_FLAGS`."""
    return dict(
        cudnn_benchmark=bool(torch.backends.cudnn.benchmark),
        cudnn_allow_tf32=bool(torch.backends.cudnn.allow_tf32),
        matmul_allow_tf32=bool(torch.backends.cuda.matmul.allow_tf32))


def timestamp() -> str:
    """Current UTC time, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec='seconds')


def resolve_clock(clock: str, device: str) -> str:
    """The clock a measurement on ``device`` uses.

    ``'auto'`` is ``'cuda'`` (CUDA events) on a CUDA device, ``'thread'``
    (CPU time of the calling thread, immune to other processes taking the
    core) on a CPU with one torch thread, else ``'wall'``.

    Raises:
        ValueError: For an unknown clock, ``'thread'`` where the work does
            not run on the calling thread (CUDA, several CPU threads), or
            ``'cuda'`` off CUDA.
    """
    on_cpu = str(device) == 'cpu'
    on_cuda = str(device).split(':')[0] == 'cuda'
    if clock == 'auto':
        if on_cuda:
            return 'cuda'
        return 'thread' if on_cpu and torch.get_num_threads() == 1 else 'wall'
    if clock not in CLOCKS:
        raise ValueError(f"clock must be 'auto' or one of {CLOCKS}, got "
                         f'{clock!r}')
    if clock == 'thread' and not (on_cpu and torch.get_num_threads() == 1):
        raise ValueError(
            f"clock='thread' times the calling thread only, so it needs "
            f'device cpu with one torch thread (got device {device!r}, '
            f'{torch.get_num_threads()} threads); use --threads 1 or '
            "clock 'wall'")
    if clock == 'cuda' and not on_cuda:
        raise ValueError(
            f"clock='cuda' times with CUDA events and needs a CUDA device, "
            f"got device {device!r}; use clock 'auto', 'wall' or 'thread'")
    return clock


def default_clock(device: Any) -> str:
    """The clock of a plain timing on ``device``: ``'cuda'`` on a CUDA
    device, else ``'wall'``."""
    return 'cuda' if torch.device(device).type == 'cuda' else 'wall'


def match_allocator(metadata: Mapping[str, Any]) -> str:
    """Measure with the allocator setting a table was built with: keep
    freed memory (:func:`~densenas_mm.utils.timing.keep_freed_memory`)
    when its ``metadata['allocator']`` says so. Returns the setting in
    force."""
    if metadata.get('allocator') == KEEP_MEMORY and keep_freed_memory():
        return KEEP_MEMORY
    return 'default'


@contextmanager
def _eval_mode(modules: List[nn.Module]) -> Iterator[None]:
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


def _items_device(
    items: Mapping[Hashable, Tuple[nn.Module, torch.Tensor]]
) -> Optional[torch.device]:
    """The one device of the inputs of ``items`` (None for none).

    Raises:
        ValueError: For inputs on several devices.
    """
    devices = {x.device for _, x in items.values()}
    if len(devices) > 1:
        raise ValueError('time_modules times the items of one device, got '
                         f'inputs on {sorted(map(str, devices))}')
    return next(iter(devices), None)


@torch.no_grad()
def time_modules(items: Mapping[Hashable, Tuple[nn.Module,
                                                torch.Tensor]], rounds: int,
                 **timing: Any) -> Dict[Hashable, List[TimingResult]]:
    """Time ``module(x)`` of every item in interleaved rounds, in ms.

    Args:
        items (Mapping): Key -> ``(module, x)``, the module on ``x``'s
            device and dtype (one device for all); modules are put in eval
            mode for the timing and then back in the mode they were in.
        rounds (int): Rounds (see
            :func:`~densenas_mm.utils.rounds.time_rounds`).
        **timing: ``warmup``, ``min_repeats``, ``max_repeats``,
            ``max_seconds``, ``clock``, ``drop_preempted``,
            ``calls_per_sample`` of each round; the device is the inputs'
            (a CUDA device is made current while timing).

    Returns:
        dict: Key -> one :class:`~densenas_mm.utils.timing_stats.TimingResult`
        (ms) per round.

    Raises:
        ValueError: For inputs on several devices.
    """
    timing.setdefault('device', _items_device(items))
    fns = {key: (lambda m=m, x=x: m(x)) for key, (m, x) in items.items()}
    with _eval_mode([m for m, _ in items.values()]):
        return time_rounds(fns, rounds, unit='ms', **timing)


@torch.no_grad()
def time_module(module: nn.Module,
                x: torch.Tensor,
                warmup: int = 5,
                min_repeats: int = 5,
                max_repeats: int = 50,
                rel_std: float = 0.05,
                max_seconds: Optional[float] = None,
                calls_per_sample: Optional[int] = None) -> TimingResult:
    """Time ``module(x)`` in ms with the project's one timing loop, on
    ``x``'s device: with the ``'cuda'`` clock on CUDA, else ``'wall'``.

    Args:
        module (nn.Module): The module, already on ``x``'s device and dtype;
            it is put in eval mode and left there only if it already was.
        x (Tensor): The input.
        warmup (int): Untimed calls first.
        min_repeats (int): Samples at least.
        max_repeats (int): Samples at most.
        rel_std (float): Stop once std / sqrt(n) / mean falls below this.
        max_seconds (float, optional): Also stop (after ``min_repeats``)
            once the timed runs took this long in total.
        calls_per_sample (int, optional): Back-to-back calls per sample
            (default 10 on CUDA, 1 on the CPU).

    Returns:
        TimingResult: Milliseconds per call (``.stats.mean``, ...).
    """
    with _eval_mode([module]):
        return timed(
            lambda: module(x),
            unit='ms',
            warmup=max(warmup, 0),
            min_repeats=min_repeats,
            max_repeats=max_repeats,
            rel_sem=rel_std,
            max_seconds=max_seconds,
            clock=default_clock(x.device),
            device=x.device,
            calls_per_sample=calls_per_sample)
