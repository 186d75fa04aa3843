"""Build-to-build agreement of latency tables, per clock and statistic.

Builds the table of a space several times in one process, alternating the
clocks, measures random whole nets after every build, and compares every
pair of builds of one clock under every round statistic (details:
``densenas_mm.experiments.benchmark.lut_stability``).

Example::

    python tools/benchmark/lut_stability.py \
        configs/_base_/search_spaces/densenas_demo_32.py \
        configs/densenas/densenas_supernet-demo_1xb32-20e_digits.py \
        --threads 1 --builds 3 --out work_dirs/bench/lut_stability.json
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
from typing import Any, Dict, List, Optional

import torch

from densenas_mm.apis.cli import (add_round_args, print_and_save,
                                  round_settings)
from densenas_mm.experiments.benchmark.lut_stability import (format_report,
                                                             run)
from densenas_mm.utils.rounds import DEFAULT_STATISTIC, ROUND_STATISTICS


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('space_config', help='config holding the search_space')
    p.add_argument(
        'search_config',
        help='search config of the same space '
        '(random nets)')
    p.add_argument(
        '--builds', type=int, default=3, help='builds per setting (default 3)')
    p.add_argument(
        '--clocks',
        nargs='+',
        default=['thread', 'wall'],
        choices=['thread', 'wall'])
    p.add_argument(
        '--chunks',
        nargs='+',
        type=int,
        default=[10],
        help='ops per chunk of interleaved rounds to alternate '
        '(default 10)')
    p.add_argument(
        '--statistic',
        default=DEFAULT_STATISTIC,
        choices=list(ROUND_STATISTICS),
        help='statistic the tables are built with (the report '
        'evaluates all)')
    p.add_argument('--save-tables', help='folder to save every table in')
    p.add_argument(
        '--nets', type=int, default=12, help='random nets (default 12)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument(
        '--no-rank',
        action='store_true',
        help='skip the whole-net measurements')
    p.add_argument('--batch-size', type=int, default=32)
    add_round_args(p)  # of the builds (the rank runs use the audit's)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--out', help='write the report as JSON here')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    report = run(
        args.space_config,
        args.search_config,
        builds=args.builds,
        clocks=args.clocks,
        chunks=args.chunks,
        tables_dir=args.save_tables,
        statistic=args.statistic,
        nets=args.nets,
        seed=args.seed,
        rank=not args.no_rank,
        batch_size=args.batch_size,
        **round_settings(args))
    print_and_save(report, format_report(report), args.out)
    return report


if __name__ == '__main__':
    main()
