"""Forward latency of a whole model (one batch), with the one timing loop.

Warm-up runs first, then ``repeats`` timed samples under
``torch.inference_mode``; the result holds the median and the spread (min,
p10, p90, max) in ms. On the CPU a sample is one forward timed by the wall
clock; on CUDA the device is made current and a sample is
``calls_per_sample`` back-to-back forwards between two CUDA events (their
time / k; see :mod:`densenas_mm.utils.timing`).
"""
from typing import Any, Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from densenas_mm.utils.io import dump_json_atomic
from densenas_mm.utils.timing import timed
from .cli import ToolOutput, resolve_input_shape
from .model_io import build_classifier, load_config


# The statistics a model-latency result reports (``<name>_ms``).
REPORTED = ('median', 'mean', 'std', 'min', 'p10', 'p90', 'max')


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
                    threads: Optional[int] = None,
                    calls_per_sample: Optional[int] = None
                    ) -> Dict[str, float]:
    """Time ``model(x)`` for one batch.

    Args:
        model (nn.Module): The model (put in eval mode, moved to ``device``).
        input_shape (list[int]): ``(N, C, H, W)``.
        device (str): ``'cpu'`` or ``'cuda'`` (``'cuda:1'`` ...).
        warmup (int): Untimed runs first (allocator, cudnn autotune).
        repeats (int): Timed runs.
        threads (int, optional): ``torch.set_num_threads`` for CPU runs.
        calls_per_sample (int, optional): Forwards per timed sample
            (default 10 on CUDA, 1 on the CPU).

    Returns:
        dict: ``median_ms``, ``mean_ms``, ``min_ms``, ``p10_ms``,
        ``p90_ms``, ``max_ms``, ``std_ms``, ``repeats``, ``batch_size``,
        ``per_image_ms`` (median / batch size).

    Raises:
        RuntimeError: If CUDA is asked for but unavailable.
        ValueError: For ``repeats < 1``, ``warmup < 0`` or
            ``calls_per_sample < 1``.
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
        result = timed(
            lambda: model(x),
            unit='ms',
            warmup=warmup,
            min_repeats=repeats,
            clock='cuda' if is_cuda else 'wall',
            device=device,
            calls_per_sample=calls_per_sample)
    return dict(
        result.summary(*REPORTED),
        batch_size=input_shape[0],
        per_image_ms=result.stats.median / input_shape[0])


def benchmark_model(config: str,
                    checkpoint: Optional[str] = None,
                    device: str = 'cpu',
                    batch_size: int = 1,
                    shape: Optional[Sequence[int]] = None,
                    warmup: int = 10,
                    repeats: int = 50,
                    threads: Optional[int] = None,
                    json: Optional[str] = None,
                    cfg_options: Optional[Dict[str, Any]] = None
                    ) -> ToolOutput:
    """Whole-model latency of a config's classifier
    (``tools/analysis/benchmark_latency.py``'s job).

    Args:
        config (str): Model config.
        checkpoint (str, optional): Weights (latency does not depend on
            them).
        device (str): ``'cpu'`` or ``'cuda[:i]'``.
        batch_size (int): Images per call.
        shape (Sequence[int], optional): Input H W (one value: square);
            default: the model's own (see
            :func:`~.cli.default_input_size`).
        warmup (int): Untimed runs first.
        repeats (int): Timed runs.
        threads (int, optional): CPU threads.
        json (str, optional): Also write the result here.
        cfg_options (dict, optional): Config overrides.

    Returns:
        ToolOutput: The report, the result in ``result``; a skip (no
        result) on a CUDA device without CUDA.
    """
    if device.startswith('cuda') and cuda_unavailable_reason():
        return ToolOutput(0, err=f'SKIP: {cuda_unavailable_reason()}')
    cfg = load_config(config, cfg_options)
    model = build_classifier(cfg, checkpoint)
    in_shape, source = resolve_input_shape(model, cfg, batch_size, shape)
    result = measure_latency(model, in_shape, device, warmup, repeats,
                             threads)
    name = (
        torch.cuda.get_device_name(device) if device.startswith('cuda') else
        f'cpu ({torch.get_num_threads()} threads)')
    text = (f'device: {name}  input: {in_shape} (from {source})  warm-up '
            f'{warmup}, '
            f'{repeats} runs\n'
            f'latency median {result["median_ms"]:.3f} ms  (min '
            f'{result["min_ms"]:.3f}, p10 {result["p10_ms"]:.3f}, p90 '
            f'{result["p90_ms"]:.3f}, max {result["max_ms"]:.3f}, std '
            f'{result["std_ms"]:.3f}); {result["per_image_ms"]:.3f} ms/image')
    if json:
        dump_json_atomic(dict(result, device=name, input_shape=in_shape), json)
    return ToolOutput(0, text, result=result)
