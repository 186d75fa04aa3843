"""Budget check: does a latency budget hold in real milliseconds?

Calibrates ``--lut`` from ``--nets`` whole nets timed end to end (written
to ``--work-dir``/table_cal.json), runs one search with
``LatencyLoss(target=T)`` on the calibrated table for each ``--targets``
value (default: the 20/50/80 % quantiles of random nets' calibrated
latency), takes each search's most probable net within its budget
(``arch/budget.yaml``) and, at the end and in one sitting, times every
budget net and the calibration's own nets together, ``--repeats`` times:
the measured latency of each budget net against its target (the goal:
within +-5 %), the calibration nets' current error (drift since the fit)
and the re-measurement agreement (the ceiling). With ``--rederive``, just
before that the calibration's nets are timed once for the machine's level
now and each budget net is derived again from its search with the table
rescaled to that level (no new search); those nets are timed in the same
rounds. Resumable: the calibrated table and finished searches are reused
(a second call with ``--rederive`` only measures and derives). Writes ``budget_check.json`` and
``budget_check.md``. What it runs: ``densenas_mm.experiments.budget_check``.

Example (the demo space, docs/latency.md)::

    python tools/benchmark/budget_check.py \
        configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py \
        --lut work_dirs/latency/densenas_demo_32_cpu_b32_t1.json \
        --work-dir work_dirs/budget_check
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.cli import (add_round_args, command_line, round_settings,
                                  run_cli)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='search config')
    p.add_argument('--lut', required=True,
                   help='latency table to calibrate (JSON)')
    p.add_argument('--targets', type=float, nargs='+', default=[],
                   help='latency budgets in ms (default: --quantiles)')
    p.add_argument('--quantiles', type=float, nargs='+',
                   default=[0.2, 0.5, 0.8],
                   help="quantiles of random nets' calibrated latency used "
                   'as targets (default 0.2 0.5 0.8)')
    p.add_argument('--nets', type=int, default=20,
                   help='nets of the calibration (default 20)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the calibration nets, targets and searches')
    p.add_argument('--repeats', type=int, default=2,
                   help='end-to-end measurements of every net at the end '
                   '(default 2, at least 2)')
    p.add_argument('--search-epochs', type=int,
                   help="override the search's max_epochs")
    p.add_argument('--warmup-epochs', type=int,
                   help="override the search's warm-up epochs")
    p.add_argument('--search-options', nargs='*', default=[],
                   help='more key=value options of every search')
    p.add_argument('--no-reuse', dest='reuse', action='store_false',
                   help='calibrate and search again even when done')
    p.add_argument('--rederive', action='store_true',
                   help="also derive each budget net again from its search "
                   "at the machine's level just before the measurement "
                   '(the calibration nets re-timed, table_level.json)')
    p.add_argument('--device', default='cpu')
    add_round_args(p, rounds=7, max_seconds=0.1)
    p.add_argument('--work-dir', default='work_dirs/budget_check')
    args = p.parse_args(argv)
    if args.repeats < 2:
        p.error('--repeats must be at least 2')
    if args.nets < 4:
        p.error('--nets must be at least 4 (the calibration fits 3 terms)')
    return args


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point; returns what budget_check.json holds."""
    from densenas_mm.experiments.budget_check import run_and_print
    args = parse_args(argv)
    return run_and_print(command=command_line(
        'tools/benchmark/budget_check.py', argv),
                         **dict(vars(args), **round_settings(args)))


if __name__ == '__main__':
    sys.exit(run_cli(main))
