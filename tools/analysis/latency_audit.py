"""Audit a latency table: LUT prediction vs latency measured here.

Three modes:

- an architecture (YAML written by DerivedArch.dump, a net_config string /
  file, or the published DenseNAS-C with --densenas-c): the net is built
  from the same modules the table measures (stem, blocks, terminal 1x1,
  pooling + classifier); each part and the whole net are timed on this
  device in interleaved rounds and compared with the table's prediction,
  each with its own noise;
- --random N --config SEARCH_CONFIG: N random architectures of the space,
  LUT-predicted vs measured whole-net latency and Kendall's tau of the two
  orders;
- --compare OTHER.json: two tables of the same setting, per entry and on
  the path sums of --random N nets (no timing).

Examples:
    python tools/analysis/latency_audit.py \
        work_dirs/densenas_supernet-demo_1xb32-20e_digits/arch/last.yaml \
        --lut work_dirs/latency/densenas_demo_32_cpu_b32_t1.json
    python tools/analysis/latency_audit.py --densenas-c --num-classes 100 \
        --lut resources/latency/densenas_mbv2_224_ref_b32.json --batch-size 1
    python tools/analysis/latency_audit.py --random 12 \
        --config configs/densenas/densenas_supernet-demo_1xb32-20e_digits.py \
        --lut work_dirs/latency/densenas_demo_32_cpu_b32_t1.json --threads 1 \
        --json work_dirs/latency/rank_demo.json
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys

from densenas_mm.apis.cli import (add_round_args, command_line, round_settings,
                                  run_cli)
from densenas_mm.apis.latency_check import check_latency


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='LUT-predicted vs measured latency of a derived net.')
    parser.add_argument(
        'arch',
        nargs='?',
        help='architecture YAML, or a '
        'file holding a net_config string')
    parser.add_argument(
        '--densenas-c',
        action='store_true',
        help='audit the published DenseNAS-C')
    parser.add_argument('--lut', required=True, help='latency table JSON')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--batch-size',
        type=int,
        help="measure at this batch size (default: the "
        "table's; another one warns)")
    parser.add_argument(
        '--num-classes',
        type=int,
        help='override the classifier width of the net')
    parser.add_argument(
        '--random',
        type=int,
        metavar='N',
        help='rank agreement over N random architectures of --config')
    parser.add_argument(
        '--config', help='search config of the table\'s space (--random)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random architectures')
    parser.add_argument(
        '--compare',
        metavar='OTHER',
        help='compare --lut with this table (entries, path sums of '
        '--random nets)')
    add_round_args(parser, rounds=7, max_seconds=0.1)
    parser.add_argument(
        '--clock',
        choices=['auto', 'cuda', 'thread', 'wall'],
        help="default: the table's clock")
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    parser.add_argument(
        '--uncalibrated',
        dest='calibrated',
        action='store_false',
        help="predict with the raw per-op sums, not the table's "
        'calibration')
    parser.add_argument(
        '--backend',
        choices=['torch', 'onnxruntime-cpu'],
        help="timing backend (default and only accepted: the table's)")
    parser.add_argument('--json', help='also write the rows to this JSON')
    args = parser.parse_args(argv)
    if not (args.arch or args.densenas_c or args.random or args.compare):
        raise SystemExit('give an architecture file or --densenas-c')
    if args.random and not args.config:
        raise SystemExit('--random needs --config (the search config of the '
                         "table's space)")
    vars(args).update(round_settings(args))
    return args


def main(argv=None) -> int:
    """Entry point: print the audit of the mode the arguments select."""
    args = vars(parse_args(argv))
    print(check_latency(
        command=command_line('tools/analysis/latency_audit.py', argv),
        **args))
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
