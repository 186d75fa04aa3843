"""Held-out accuracy of a (calibrated) latency table.

Times nets not used for the table's calibration (N random nets spread over
the space's latency range, plus any --archs, e.g. searched nets), each
twice, and reports for the calibrated prediction, the raw LUT sum and the
re-measurement (the ceiling): mean / max absolute error, the share within
+-5 % and +-10 %, Kendall's tau overall and within +-5 % bins of predicted
latency, and the spread of measured latency at equal predicted latency.
With --level-each-pass each pass also times the calibration's own nets and
the two passes are read at one machine level as well (rows "leveled").

Example:
    python tools/analysis/latency_heldout.py \
        configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py \
        --lut work_dirs/latency/densenas_demo_32_cpu_b32_t1_cal.json \
        --nets 30 --seed 1 --json work_dirs/latency/heldout_demo.json
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys

from densenas_mm.apis.cli import (add_net_timing_args, command_line, emit,
                                  round_settings)
from densenas_mm.apis.latency_calibration import heldout_accuracy


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Held-out accuracy of a calibrated latency table.')
    parser.add_argument('config', help='search config of the table\'s space')
    parser.add_argument('--lut', required=True, help='latency table JSON')
    parser.add_argument(
        '--nets', type=int, default=30, help='random held-out nets (30)')
    parser.add_argument(
        '--seed',
        type=int,
        default=1,
        help='seed of the random nets (default 1; nets of the fit are '
        'never picked)')
    parser.add_argument(
        '--archs', nargs='*', default=[], help='further nets (YAML files)')
    add_net_timing_args(parser)
    parser.add_argument(
        '--level-each-pass',
        action='store_true',
        help="time the calibration's own nets in each pass too and report "
        "the passes at one machine level (rows 'leveled')")
    parser.add_argument('--json', help='write the report here')
    args = parser.parse_args(argv)
    vars(args).update(round_settings(args))
    return args


def main(argv=None) -> int:
    """Entry point: measure, print the numbers."""
    return emit(
        heldout_accuracy(
            command=command_line('tools/analysis/latency_heldout.py', argv),
            **vars(parse_args(argv))))


if __name__ == '__main__':
    sys.exit(main())
