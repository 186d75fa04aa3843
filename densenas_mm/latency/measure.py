"""Timing of one module at its input shape, and the environment record.

Forward only, under ``torch.no_grad`` in eval mode, timed by the project's
one timing loop (:func:`densenas_mm.utils.timing.time_samples`): after
``warmup`` calls the module runs ``min_repeats`` times, then keeps running
until the relative standard error of the mean (``std / sqrt(n) / mean``) is
below ``rel_std``, ``max_repeats`` runs are done or (optional) the timed
runs add up to ``max_seconds``.
"""
import platform
from datetime import datetime, timezone
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn

from densenas_mm.utils.timing import summarize, time_samples


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
    """Device and software versions for table metadata."""
    is_cuda = str(device).startswith('cuda')
    cudnn = None
    if is_cuda and torch.backends.cudnn.is_available():
        cudnn = torch.backends.cudnn.version()
    return dict(
        device=device_name(device),
        device_type='cuda' if is_cuda else 'cpu',
        torch=torch.__version__,
        cuda=torch.version.cuda if is_cuda else None,
        cudnn=cudnn,
        num_threads=torch.get_num_threads(),
        python=platform.python_version(),
        platform=platform.platform())


def timestamp() -> str:
    """Current UTC time, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec='seconds')


def _stats(samples) -> Tuple[float, float, float]:
    n = len(samples)
    mean = sum(samples) / n
    var = sum((s - mean)**2 for s in samples) / max(n - 1, 1)
    std = math.sqrt(var)
    sem_rel = std / math.sqrt(n) / mean if mean > 0 else 0.0
    return mean, std, sem_rel


@torch.no_grad()
def time_module(module: nn.Module,
                x: torch.Tensor,
                warmup: int = 5,
                min_repeats: int = 5,
                max_repeats: int = 50,
                rel_std: float = 0.05,
                max_seconds: Optional[float] = None
                ) -> Tuple[float, float, int]:
    """Time ``module(x)`` in ms with the project's one timing loop.

    Args:
        module (nn.Module): The module, already on ``x``'s device and dtype;
            it is put in eval mode and left there only if it already was.
        x (Tensor): The input.
        warmup (int): Untimed calls first.
        min_repeats (int): Timed calls at least.
        max_repeats (int): Timed calls at most.
        rel_std (float): Stop once std / sqrt(n) / mean falls below this.
        max_seconds (float, optional): Also stop (after ``min_repeats``)
            once the timed runs took this long in total.

    Returns:
        tuple[float, float, int]: Mean (ms), standard deviation of single
        runs (ms), number of timed runs.
    """
    was_training = module.training
    module.eval()
    try:
        samples = time_samples(
            lambda: module(x),
            warmup=max(warmup, 0),
            min_repeats=min_repeats,
            max_repeats=max_repeats,
            rel_sem=rel_std,
            max_seconds=max_seconds)
    finally:
        module.train(was_training)
    stats = summarize([1e3 * s for s in samples])
    return stats.mean, stats.std, stats.n


