"""Measure the forward latency of the classifier a config builds.

Warm-up runs first, then ``--repeats`` timed forwards (the clock
synchronises the GPU); reports the median and the spread (min, p10, p90,
max) in milliseconds, for one batch of ``--batch-size`` images.

Examples:
    python tools/analysis/benchmark_latency.py \
        configs/densenas/subnets/densenas_subnet-c_8xb128-240e_in1k.py --device cpu --batch-size 1
    python tools/analysis/benchmark_latency.py \
        configs/densenas/subnets/densenas_subnet-c_8xb128-240e_in1k.py --device cuda \
        --batch-size 32
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import Dict, List, Optional

import torch

from densenas_mm.apis.cli import add_cfg_options, add_shape, input_shape
from densenas_mm.apis.model_latency import (cuda_unavailable_reason,
                                            measure_latency)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        '--checkpoint',
        help='weights (latency does not '
        'depend on them; for completeness)')
    parser.add_argument('--device', default='cpu', help='cpu | cuda[:i]')
    parser.add_argument('--batch-size', type=int, default=1)
    add_shape(parser)
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=50)
    parser.add_argument('--threads', type=int, help='CPU threads')
    parser.add_argument('--json', help='also write the result as JSON here')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Optional[Dict[str, float]]:
    """Entry point; returns the result (None when CUDA is skipped)."""
    args = parse_args(argv)
    if args.device.startswith('cuda') and cuda_unavailable_reason():
        print(f'SKIP: {cuda_unavailable_reason()}', file=sys.stderr)
        return None
    from densenas_mm.apis.model_io import build_classifier
    from densenas_mm.utils.io import dump_json_atomic
    model = build_classifier(args.config, args.checkpoint, args.cfg_options)
    shape = input_shape(model, args.batch_size, args.shape)
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
