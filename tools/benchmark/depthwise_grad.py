"""Depthwise-convolution weight gradient per shape: PyTorch's kernel
against the grouped convolution DenseNAS uses on CPU (the logic:
``densenas_mm.experiments.benchmark.depthwise_grad``; numbers:
docs/benchmarks.md).

Example::

    python tools/benchmark/depthwise_grad.py --batch-size 8 \
        --out work_dirs/bench/depthwise_grad_cpu_b8.json
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
from typing import Any, Dict, List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--kernels', type=int, nargs='+', default=[3, 5, 7])
    p.add_argument('--out', default=None, help='write the report as JSON')
    args = p.parse_args(argv)
    if min(args.batch_size, args.rounds, args.repeats, args.threads) < 1:
        p.error('--batch-size, --rounds, --repeats, --threads must be >= 1')
    return args


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    import torch

    from densenas_mm.apis.cli import print_and_save
    from densenas_mm.experiments.benchmark.depthwise_grad import (
        format_report, run)
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    report = run(args.batch_size, args.kernels, rounds=args.rounds,
                 repeats=args.repeats)
    print_and_save(report, format_report(report), args.out)
    return report


if __name__ == '__main__':
    main()
