"""Search-step throughput, peak memory and FLOPs of DenseNAS, side by side.

Times the weight step, the architecture step, a search-epoch mix, a derived
subnet step and an mmcls MobileNetV2 1.0 step in one process (what each
case is: ``densenas_mm.apis.benchmark.search_step``; the numbers:
docs/benchmarks.md).

Examples::

    python tools/benchmark/search_step.py densenas_demo_32 --device cpu \
        --batch-size 32 --repeats 10 --out work_dirs/bench/demo_cpu.json
    python tools/benchmark/search_step.py densenas_mbv2_224 --device cpu \
        --batch-size 8 --repeats 5 --warmup 2
    python tools/benchmark/search_step.py densenas_mbv2_224 --device cuda \
        --batch-size 88 --amp bf16 --channels-last
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
from typing import Any, Dict, List, Optional

from densenas_mm.apis.benchmark.search_step import CASES, format_table, run
from densenas_mm.apis.cli import print_and_save


def parse_args(argv: Optional[List[str]] = None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='search-space preset name, search-space '
                   'file or DenseNAS config')
    p.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--input-size', type=int, default=None,
                   help='default: the space input size')
    p.add_argument('--repeats', type=int, default=10)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--amp', choices=['bf16', 'fp16'], default=None)
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--threads', type=int, default=1,
                   help='torch intra-op threads on CPU (default 1; 0 = '
                   "torch's default)")
    p.add_argument('--estimator', default='auto',
                   help="'auto', 'reference', 'flops' or a LUT JSON path")
    p.add_argument('--cases', default=','.join(CASES),
                   help='comma-separated subset of ' + ','.join(CASES))
    p.add_argument('--sync-counts', action='store_true',
                   help='also count host-device sync points per step')
    p.add_argument('--out', default=None, help='write the report as JSON')
    args = p.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(',') if c.strip()]
    bad = set(args.cases) - set(CASES)
    if bad:
        p.error(f'unknown cases {sorted(bad)}')
    return args


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    report = run(args)
    print_and_save(report, format_table(report), args.out)
    return report


if __name__ == '__main__':
    main()
