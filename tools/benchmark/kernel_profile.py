"""Kernel shares of the CPU search steps (torch.profiler; the logic:
``densenas_mm.experiments.benchmark.kernel_profile``; numbers:
docs/benchmarks.md).

Example::

    python tools/benchmark/kernel_profile.py densenas_mbv2_224 \
        --batch-size 8 --out work_dirs/bench/kernels_cpu_b8.json
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
from typing import Any, Dict, List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from densenas_mm.experiments.benchmark.settings import SETTINGS
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', nargs='?', default='densenas_mbv2_224',
                   help='search-space preset, space file or DenseNAS config')
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--setting', choices=sorted(SETTINGS), default='default')
    p.add_argument('--phases', nargs='+', choices=['weight', 'arch'],
                   default=['weight', 'arch'])
    p.add_argument('--steps', type=int, default=2)
    p.add_argument('--top', type=int, default=12)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--out', default=None, help='write the report as JSON')
    args = p.parse_args(argv)
    if min(args.batch_size, args.steps, args.top, args.threads) < 1:
        p.error('--batch-size, --steps, --top and --threads must be >= 1')
    return args


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    from densenas_mm.apis.cli import print_and_save
    from densenas_mm.experiments.benchmark.kernel_profile import (
        format_report, run)
    args = parse_args(argv)
    report = run(args.config, args.batch_size, args.setting, args.phases,
                 args.steps, args.top, args.threads)
    print_and_save(report, format_report(report), args.out)
    return report


if __name__ == '__main__':
    main()
