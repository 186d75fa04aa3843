"""Search-step throughput, peak memory and FLOPs of DenseNAS, side by side.

Times the faithful and path-sampling weight steps, the architecture step,
the search-epoch mixes, a derived subnet step and an mmcls MobileNetV2 1.0
step in one process, in the ``default``, ``channels_last`` and
``reference`` step settings alternately, and compares their losses and
gradients (with float64 too; what each case and setting is:
``densenas_mm.experiments.benchmark.search_step`` and ``.settings``; the
numbers: docs/benchmarks.md).

Examples::

    python tools/benchmark/search_step.py densenas_demo_32 \
        --batch-size 32 --repeats 10 --out work_dirs/bench/demo_cpu.json
    python tools/benchmark/search_step.py densenas_mbv2_224 \
        --batch-size 8 --repeats 5 --warmup 1
    python tools/benchmark/search_step.py densenas_mbv2_224 --device cuda \
        --batch-size 88 --settings default --amp bf16 --channels-last
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
from typing import Any, Dict, List, Optional

from densenas_mm.apis.cli import print_and_save
from densenas_mm.experiments.benchmark.report import format_report
from densenas_mm.experiments.benchmark.search_step import CASES, run
from densenas_mm.experiments.benchmark.settings import SETTINGS


def _names(p: argparse.ArgumentParser, text: str, allowed, what: str):
    names = [c.strip() for c in text.split(',') if c.strip()]
    bad = sorted(set(names) - set(allowed))
    if bad or not names:
        p.error(f'{what}: unknown or no names {bad}; choose from '
                f'{",".join(allowed)}')
    return names


def parse_args(argv: Optional[List[str]] = None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='search-space preset name, search-space '
                   'file or DenseNAS config')
    p.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--input-size', type=int, default=None,
                   help='default: the space input size')
    p.add_argument('--repeats', type=int, default=10,
                   help='interleaved rounds (one timed call of every case in '
                   'every setting per round)')
    p.add_argument('--warmup', type=int, default=3,
                   help='untimed calls of every case and setting first')
    p.add_argument('--settings', default=','.join(SETTINGS),
                   help='comma-separated subset of ' + ','.join(SETTINGS))
    p.add_argument('--amp', choices=['bf16', 'fp16'], default=None)
    p.add_argument('--channels-last', action='store_true',
                   help='channels-last weights and batches in the default '
                   "setting (its 'auto' is channels-last on CPU only)")
    p.add_argument('--threads', type=int, default=1,
                   help='torch intra-op threads on CPU (default 1; 0 = '
                   "torch's default)")
    p.add_argument('--estimator', default='auto',
                   help="'auto', 'reference', 'flops' or a LUT JSON path")
    p.add_argument('--cases', default=','.join(CASES),
                   help='comma-separated subset of ' + ','.join(CASES))
    p.add_argument('--no-precision', dest='precision', action='store_false',
                   help='skip the loss/gradient comparison of the settings')
    p.add_argument('--no-float64', dest='float64', action='store_false',
                   help='compare the settings without the float64 step')
    p.add_argument('--sync-counts', action='store_true',
                   help='also count host-device sync points per step')
    p.add_argument('--out', default=None, help='write the report as JSON')
    args = p.parse_args(argv)
    args.cases = _names(p, args.cases, CASES, '--cases')
    args.settings = _names(p, args.settings, list(SETTINGS), '--settings')
    if args.repeats < 1 or args.warmup < 0 or args.batch_size < 1:
        p.error('--repeats and --batch-size must be >= 1, --warmup >= 0')
    return args


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = vars(parse_args(argv))
    out = args.pop('out')
    report = run(args.pop('config'), **args)
    print_and_save(report, format_report(report), out)
    return report


if __name__ == '__main__':
    main()
