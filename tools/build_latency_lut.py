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
import time
from dataclasses import replace
from typing import Any, Dict

import torch

from densenas_mm.apis.cli import add_round_args, round_settings
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
    return parser.parse_args(argv)


def default_out(space_name: str, args: argparse.Namespace) -> str:
    """The table path of the one naming rule for these arguments."""
    from densenas_mm.latency import table_path
    return table_path(space_name, args.device, args.batch_size, args.threads,
                      args.dtype, args.channels_last)


def build_settings(args: argparse.Namespace) -> Dict[str, Any]:
    """The command line as :func:`~densenas_mm.latency.build_latency_table`'s
    settings groups (``setting``, ``timing``, ``options``)."""
    from densenas_mm.latency import BuildOptions, RoundSettings, TableSetting
    return dict(
        setting=TableSetting(args.device, args.batch_size, args.dtype,
                             args.channels_last),
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
    args = parse_args(argv)
    from densenas_mm.latency import build_latency_table
    from densenas_mm.latency.measure import check_device
    from densenas_mm.search_space import search_space_from_cfg

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        check_device(args.device)
    except RuntimeError as err:
        print(f'skipped: {err}', file=sys.stderr)
        return 2
    space = search_space_from_cfg(args.config)
    out = args.out or default_out(space.name, args)
    if args.print_path:
        print(out)
        return 0
    start = time.perf_counter()
    settings = build_settings(args)
    for done in range(1, max(args.passes, 1) + 1):
        table, report = build_latency_table(space, out=out, **settings)
        # a further pass adds rounds to the noisy entries of this one
        settings['options'] = replace(settings['options'], resume=True)
        if report.quality['status'] != 'noisy' or done >= args.passes:
            break
        print(f'\ntable noisy after build {done} of at most {args.passes} '
              f'({len(report.noisy)} noisy entries); adding rounds to them')
    print(f'\nwrote {out}: {len(table)} entries ({report.needed} needed by '
          f'{space.name!r}: {report.measured} measured, {report.remeasured} '
          f're-measured, {report.reused} reused; {report.extra_rounds} extra '
          f'rounds) on {table.device}, {table.metadata["clock"]} clock, in '
          f'{time.perf_counter() - start:.1f}s')
    if table.metadata.get('device_type') == 'cuda':
        meta = table.metadata
        print(f'CUDA {meta.get("cuda")}, cuDNN {meta.get("cudnn")}, '
              f'{meta.get("calls_per_sample")} calls per sample; '
              f'cudnn.benchmark={meta.get("cudnn_benchmark")}, '
              f'cudnn.allow_tf32={meta.get("cudnn_allow_tf32")}, '
              f'matmul.allow_tf32={meta.get("matmul_allow_tf32")} '
              '(searches with other flags are warned)')
    quality = report.quality
    print(f'table {quality["status"].upper()}: {quality["reason"]}')
    if report.noisy:
        print(f'{len(report.noisy)} noisy entries (rounds still disagree; '
              'rerun the same command to add rounds to them):')
        for key, latency, err, rounds in sorted(
                report.noisy, key=lambda r: -(r[2] or float('inf')))[:10]:
            err_txt = 'n/a' if err is None else f'{100 * err:.1f} %'
            print(f'  {key}: {latency:.3f} ms, round medians '
                  f'{"/".join(f"{v:.3g}" for v in rounds)}, uncertainty '
                  f'{err_txt}')
        if len(report.noisy) > 10:
            print(f'  ... and {len(report.noisy) - 10} more')
    return 0


if __name__ == '__main__':
    sys.exit(main())
