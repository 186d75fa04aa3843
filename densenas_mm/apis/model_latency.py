"""Forward latency of a whole model (one batch), with the one timing loop.

Warm-up runs first, then ``repeats`` timed forwards under
``torch.inference_mode`` (the clock synchronises the accelerator); the
result holds the median and the spread (min, p10, p90, max) in ms.
"""
from typing import Dict, List, Optional

import torch
import torch.nn as nn

from densenas_mm.utils.timing import summarize, time_samples


def cuda_unavailable_reason() -> Optional[str]:
    """None when CUDA can be used, else why not (for a clean skip)."""
    if not torch.cuda.is_available():
        return ('CUDA is not available (CPU-only torch build or no GPU); '
                'use --device cpu')
    return None


def measure_latency(model: nn.Module,
                    input_shape: List[int],
                    device: str = 'cpu',
                    warmup: int = 10,
                    repeats: int = 50,
                    threads: Optional[int] = None) -> Dict[str, float]:
    """Time ``model(x)`` for one batch.

    Args:
        model (nn.Module): The model (put in eval mode, moved to ``device``).
        input_shape (list[int]): ``(N, C, H, W)``.
        device (str): ``'cpu'`` or ``'cuda'`` (``'cuda:1'`` ...).
        warmup (int): Untimed runs first (allocator, cudnn autotune).
        repeats (int): Timed runs.
        threads (int, optional): ``torch.set_num_threads`` for CPU runs.

    Returns:
        dict: ``median_ms``, ``mean_ms``, ``min_ms``, ``p10_ms``,
        ``p90_ms``, ``max_ms``, ``std_ms``, ``repeats``, ``batch_size``,
        ``per_image_ms`` (median / batch size).

    Raises:
        RuntimeError: If CUDA is asked for but unavailable.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f'need repeats >= 1 and warmup >= 0, got '
                         f'{repeats}, {warmup}')
    is_cuda = device.startswith('cuda')
    if is_cuda and cuda_unavailable_reason():
        raise RuntimeError(cuda_unavailable_reason())
    if threads is not None and not is_cuda:
        torch.set_num_threads(threads)
    model = model.to(device).eval()
    x = torch.randn(*input_shape, device=device)
    with torch.inference_mode():
        samples = time_samples(lambda: model(x), warmup, repeats)
    stats = summarize([1e3 * s for s in samples])
    return dict(
        median_ms=stats.median,
        mean_ms=stats.mean,
        std_ms=stats.std,
        min_ms=stats.min,
        p10_ms=stats.p10,
        p90_ms=stats.p90,
        max_ms=stats.max,
        repeats=stats.n,
        batch_size=input_shape[0],
        per_image_ms=stats.median / input_shape[0])
