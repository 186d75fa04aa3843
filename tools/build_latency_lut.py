"""Build a latency lookup table for a search space on this machine.

Measures every op the space needs (stem, head candidates per edge, stacking
candidates per block, terminal 1x1 branches, classifier) at its real input
shape, forward only in eval mode, in interleaved rounds: an entry is the
smallest timed call of its rounds (--statistic), entries whose rounds
disagree get extra rounds, and a table with too many entries that still
disagree is marked noisy (the search refuses it unless allowed). The build
is resumable: rerun the same command after an interruption and only missing
entries are measured (and noisy ones get more rounds); an existing --out
table with the same setting is extended, never discarded.

Examples:
    python tools/build_latency_lut.py \
        configs/_base_/search_spaces/densenas_demo_32.py --device cpu \
        --threads 1
    python tools/build_latency_lut.py \
        configs/_base_/search_spaces/densenas_mbv2_224.py --device cuda \
        --batch-size 32 --rounds 7 --max-repeats 50

Without --out the table goes to the one naming rule of
``densenas_mm.latency.paths`` (``--print-path`` prints it and exits), e.g.
``work_dirs/latency/densenas_demo_32_cpu_b32_t1.json`` for
``--device cpu --batch-size 32 --threads 1``.
"""
import argparse
import sys
from typing import Any, Dict

from densenas_mm.apis.cli import (add_cfg_options, add_round_args, emit,
                                  round_settings, run_cli)
from densenas_mm.apis.latency_table import build_table
from densenas_mm.utils.rounds import DEFAULT_STATISTIC, ROUND_STATISTICS


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Build a latency lookup table (JSON) for a DenseNAS '
        'search space on this device.')
    parser.add_argument(
        'config',
        help='mmengine config with a `search_space` dict (or a '
        'model config whose backbone has one)')
    parser.add_argument(
        '--device', default='cpu', help="'cpu' or 'cuda[:N]' (default cpu)")
    parser.add_argument(
        '--batch-size',
        type=int,
        default=32,
        help='batch size of every measurement (default 32, '
        'as the paper)')
    parser.add_argument(
        '--out',
        help='output JSON (default: work_dirs/latency/'
        'SPACE_DEVICE_bB[_tT][_DTYPE][_cl].json, see --print-path)')
    parser.add_argument(
        '--print-path',
        action='store_true',
        help='print the default output path for these settings and exit')
    add_round_args(parser)
    parser.add_argument(
        '--clock',
        default='auto',
        choices=['auto', 'cuda', 'thread', 'wall'],
        help='auto (default): CUDA events on a CUDA device, CPU time of the '
        'calling thread on a CPU with one thread (immune to other '
        'processes), else wall clock')
    parser.add_argument(
        '--calls-per-sample',
        type=int,
        default=None,
        help='back-to-back calls per timed sample, the sample being their '
        'time / k (default 10 on the cuda clock, 1 otherwise)')
    parser.add_argument(
        '--statistic',
        default=DEFAULT_STATISTIC,
        choices=list(ROUND_STATISTICS),
        help='value of an entry from its rounds (default min_of_minima: '
        'the smallest timed call; see docs/latency.md)')
    parser.add_argument(
        '--passes',
        type=int,
        default=2,
        help='when the table comes out noisy, run the build again (it adds '
        'rounds to the noisy entries only), up to this many builds in all '
        '(default 2)')
    parser.add_argument(
        '--max-noisy',
        type=float,
        default=0.1,
        help='mark the table noisy when more than this fraction of its '
        'entries still disagree (default 0.1)')
    parser.add_argument(
        '--default-allocator',
        action='store_true',
        help="keep glibc's default of returning freed memory to the OS "
        '(timed calls then page-fault; default: keep freed memory)')
    parser.add_argument(
        '--keep-preempted',
        action='store_true',
        help='keep timed calls the OS interrupted (default: leave them out '
        'and time another call)')
    parser.add_argument(
        '--dtype',
        default='float32',
        choices=['float32', 'float16', 'bfloat16', 'float64'])
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='measure in channels-last memory format')
    parser.add_argument(
        '--backend',
        default='torch',
        choices=['torch', 'onnxruntime-cpu'],
        help='timing backend: PyTorch eager (default) or ONNX Runtime\'s '
        'CPU execution provider (recorded in the table)')
    parser.add_argument(
        '--threads',
        type=int,
        help='torch CPU threads (default: torch default)')
    parser.add_argument(
        '--checkpoint-every',
        type=int,
        default=10,
        help='ops per chunk of interleaved rounds; OUT.partial is written '
        'after every chunk (default 10)')
    parser.add_argument(
        '--no-resume',
        action='store_true',
        help='ignore OUT / OUT.partial and measure all')
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress bar')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def build_settings(args: argparse.Namespace) -> Dict[str, Any]:
    """The command line as :func:`~densenas_mm.latency.build_latency_table`'s
    settings groups (``setting``, ``timing``, ``options``)."""
    from densenas_mm.latency import BuildOptions, RoundSettings, TableSetting
    return dict(
        setting=TableSetting(args.device, args.batch_size, args.dtype,
                             args.channels_last, args.backend),
        timing=RoundSettings(
            **round_settings(args),
            clock=args.clock,
            calls_per_sample=args.calls_per_sample,
            statistic=args.statistic,
            max_noisy=args.max_noisy,
            keep_memory=not args.default_allocator,
            drop_preempted=not args.keep_preempted),
        options=BuildOptions(
            checkpoint_every=args.checkpoint_every,
            resume=not args.no_resume,
            progress=not args.no_progress))


def main(argv=None) -> int:
    """Entry point: build the table, print its report."""
    args = parse_args(argv)
    return emit(
        build_table(
            args.config,
            out=args.out,
            threads=args.threads,
            passes=args.passes,
            print_path=args.print_path,
            cfg_options=args.cfg_options,
            **build_settings(args)))


if __name__ == '__main__':
    sys.exit(run_cli(main))
