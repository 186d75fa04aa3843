"""Re-time a calibrated table's own nets: the machine's level of the day.

A calibration holds for the machine as it ran in the sitting of the fit.
On a machine whose speed moves between sittings (a shared VM), this times
the calibration's own nets again (about 20 nets, seconds), reports how far
they moved (the geometric mean of the now / at-fit ratios, and how unevenly
they moved) and, with --out, writes the table with the calibration
rescaled to today's level, without a new fit. A large spread of the ratios
means the machine changed more than its speed: calibrate again
(tools/analysis/calibrate_latency.py). See docs/latency.md, "Calibration".

Example:
    python tools/analysis/latency_level.py \
        configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py \
        --lut work_dirs/latency/densenas_demo_32_cpu_b32_t1_cal.json \
        --out work_dirs/latency/densenas_demo_32_cpu_b32_t1_today.json
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys

from densenas_mm.apis.cli import (add_net_timing_args, command_line, emit,
                                  round_settings)
from densenas_mm.apis.latency_level import check_level


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Re-time a calibrated table\'s nets; rescale it to the '
        'machine\'s current level.')
    parser.add_argument('config', help='search config of the table\'s space')
    parser.add_argument('--lut', required=True,
                        help='calibrated latency table JSON')
    parser.add_argument(
        '--out', help='write the rescaled table here (may be --lut)')
    add_net_timing_args(parser, draws=False)
    parser.add_argument('--json', help='write the report here')
    args = parser.parse_args(argv)
    vars(args).update(round_settings(args))
    return args


def main(argv=None) -> int:
    """Entry point: time the nets, print the level."""
    return emit(
        check_level(
            command=command_line('tools/analysis/latency_level.py', argv),
            **vars(parse_args(argv))))


if __name__ == '__main__':
    sys.exit(main())
