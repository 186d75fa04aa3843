"""Measure the forward latency of the classifier a config builds.

Warm-up runs first, then ``--repeats`` timed forwards (CUDA-synchronised
around each one on GPUs); reports the median and the spread (min, p10, p90,
max) in milliseconds, for one batch of ``--batch-size`` images.

Examples:
    python tools/analysis/benchmark_latency.py \
        configs/densenas/subnets/densenas-c_in1k.py --device cpu --batch-size 1
    python tools/analysis/benchmark_latency.py \
        configs/densenas/subnets/densenas-c_in1k.py --device cuda \
        --batch-size 32
"""
import argparse
import statistics
import sys
import time
from typing import Dict, List, Optional

import torch
import torch.nn as nn


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

    def sync() -> None:
        if is_cuda:
            torch.cuda.synchronize(device)

    times: List[float] = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        sync()
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            sync()
            times.append((time.perf_counter() - start) * 1e3)
    ordered = sorted(times)

    def pct(q: float) -> float:
        return ordered[min(
            len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    median = statistics.median(times)
    return dict(
        median_ms=median,
        mean_ms=statistics.fmean(times),
        std_ms=statistics.pstdev(times),
        min_ms=ordered[0],
        p10_ms=pct(0.1),
        p90_ms=pct(0.9),
        max_ms=ordered[-1],
        repeats=repeats,
        batch_size=input_shape[0],
        per_image_ms=median / input_shape[0])


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        '--checkpoint',
        help='weights (latency does not '
        'depend on them; for completeness)')
    parser.add_argument('--device', default='cpu', help='cpu | cuda[:i]')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[224, 224],
        help='input H W (one value: square)')
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=50)
    parser.add_argument('--threads', type=int, help='CPU threads')
    parser.add_argument('--json', help='also write the result as JSON here')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Optional[Dict[str, float]]:
    """Entry point; returns the result (None when CUDA is skipped)."""
    args = parse_args(argv)
    if args.device.startswith('cuda') and cuda_unavailable_reason():
        print(f'SKIP: {cuda_unavailable_reason()}', file=sys.stderr)
        return None
    from densenas_mm.models.converters.model_io import build_classifier
    from densenas_mm.utils.io import dump_json_atomic
    h, w = (args.shape * 2)[:2]
    model = build_classifier(args.config, args.checkpoint, args.cfg_options)
    channels = getattr(getattr(model, 'backbone', None), 'in_channels', 3)
    shape = [args.batch_size, channels, h, w]
    result = measure_latency(model, shape, args.device, args.warmup,
                             args.repeats, args.threads)
    name = (
        torch.cuda.get_device_name(args.device)
        if args.device.startswith('cuda') else
        f'cpu ({torch.get_num_threads()} threads)')
    print(f'device: {name}  input: {shape}  warm-up {args.warmup}, '
          f'{args.repeats} runs')
    print(f'latency median {result["median_ms"]:.3f} ms  (min '
          f'{result["min_ms"]:.3f}, p10 {result["p10_ms"]:.3f}, p90 '
          f'{result["p90_ms"]:.3f}, max {result["max_ms"]:.3f}, std '
          f'{result["std_ms"]:.3f}); {result["per_image_ms"]:.3f} ms/image')
    if args.json:
        dump_json_atomic(
            dict(result, device=name, input_shape=shape), args.json)
    return result


if __name__ == '__main__':
    main()
