"""Calibrate a latency table from whole nets timed end to end.

Times N random nets of the table's search space (spread over its latency
range) with the table's setting (batch size, dtype, memory format, clock,
statistic, thread count, timing backend) and fits

    measured = scale x LUT sum + per_op x ops + constant

by least squares on the relative error; the model, its fit and residuals
and where / when it was measured are stored in the table (schema version
3). The search, path costs, the budget loss and the audit then use it
(see docs/latency.md, "Calibration").

Example:
    python tools/analysis/calibrate_latency.py \
        configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py \
        --lut work_dirs/latency/densenas_demo_32_cpu_b32_t1.json --nets 20 \
        --out work_dirs/latency/densenas_demo_32_cpu_b32_t1_cal.json
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys

from densenas_mm.apis.cli import add_net_timing_args, emit, round_settings
from densenas_mm.apis.latency_calibration import calibrate_table


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Calibrate a latency table from whole-net timings.')
    parser.add_argument('config', help='search config of the table\'s space')
    parser.add_argument('--lut', required=True, help='latency table JSON')
    parser.add_argument(
        '--nets', type=int, default=20, help='nets to time (default 20)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random nets')
    parser.add_argument(
        '--out', help='calibrated table (default: overwrite --lut)')
    parser.add_argument(
        '--terms',
        nargs='+',
        default=['scale', 'per_op', 'constant'],
        choices=['scale', 'per_op', 'constant'],
        help='model terms to fit (scale always)')
    add_net_timing_args(parser)
    args = parser.parse_args(argv)
    vars(args).update(round_settings(args))
    return args


def main(argv=None) -> int:
    """Entry point: calibrate, print the fit."""
    return emit(calibrate_table(**vars(parse_args(argv))))


if __name__ == '__main__':
    sys.exit(main())
