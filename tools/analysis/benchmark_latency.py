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

from densenas_mm.apis.cli import add_cfg_options, add_shape, emit, run_cli
from densenas_mm.apis.model_latency import benchmark_model


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
    output = benchmark_model(**vars(parse_args(argv)))
    emit(output)
    return output.result


if __name__ == '__main__':
    sys.exit(run_cli(main))
