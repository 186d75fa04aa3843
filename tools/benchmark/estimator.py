"""Cost of one chained expected-cost evaluation vs one architecture step.

Times the chained expected cost (forward, forward + backward) against one
real architecture step, in one process (details:
``densenas_mm.experiments.benchmark.estimator_cost``).

Example::

    python tools/benchmark/estimator.py densenas_mbv2_224 --batch-size 2 \
        --out work_dirs/bench/estimator_cpu.json
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
from typing import Any, Dict, List, Optional

from densenas_mm.apis.cli import print_and_save
from densenas_mm.experiments.benchmark.estimator_cost import (format_report,
                                                              run)


def parse_args(argv: Optional[List[str]] = None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', nargs='?', default='densenas_mbv2_224')
    p.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    p.add_argument('--batch-size', type=int, default=2)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--estimator', default='auto')
    p.add_argument('--out', default=None)
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = vars(parse_args(argv))
    out = args.pop('out')
    report = run(args.pop('config'), **args)
    print_and_save(report, format_report(report), out)
    return report


if __name__ == '__main__':
    main()
