"""Build a latency lookup table for a search space on this machine.

Measures every op the space needs (stem, head candidates per edge, stacking
candidates per block, terminal 1x1 branches, classifier) at its real input
shape, forward only in eval mode. The build is resumable: rerun the same
command after an interruption and only missing entries are measured; an
existing --out table with the same setting is extended, never discarded.

Examples:
    python tools/build_latency_lut.py \
        configs/_base_/search_spaces/densenas_demo_32.py --device cpu
    python tools/build_latency_lut.py \
        configs/_base_/search_spaces/densenas_mbv2_224.py --device cuda \
        --batch-size 32 --max-repeats 200 --rel-std 0.01

Without --out the table goes to the one naming rule of
``densenas_mm.latency.paths`` (``--print-path`` prints it and exits), e.g.
``work_dirs/latency/densenas_demo_32_cpu_b32_t1.json`` for
``--device cpu --batch-size 32 --threads 1``.
"""
import argparse
import sys
import time

import torch


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
    parser.add_argument(
        '--warmup',
        type=int,
        default=3,
        help='untimed calls per op (default 3)')
    parser.add_argument(
        '--min-repeats',
        type=int,
        default=5,
        help='timed calls per op at least (default 5)')
    parser.add_argument(
        '--max-repeats',
        type=int,
        default=50,
        help='timed calls per op at most (default 50)')
    parser.add_argument(
        '--rel-std',
        type=float,
        default=0.05,
        help='stop when std/sqrt(n)/mean < this (default '
        '0.05)')
    parser.add_argument(
        '--max-seconds',
        type=float,
        default=0.25,
        help='cap on timed seconds per op, <= 0 for none '
        '(default 0.25)')
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
        help='write OUT.partial every K entries (default 10)')
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
    table, report = build_latency_table(
        space,
        device=args.device,
        batch_size=args.batch_size,
        out=out,
        warmup=args.warmup,
        min_repeats=args.min_repeats,
        max_repeats=args.max_repeats,
        rel_std=args.rel_std,
        max_seconds=args.max_seconds if args.max_seconds > 0 else None,
        dtype=args.dtype,
        channels_last=args.channels_last,
        checkpoint_every=args.checkpoint_every,
        resume=not args.no_resume,
        progress=not args.no_progress)
    print(f'\nwrote {out}: {len(table)} entries ({report.needed} needed by '
          f'{space.name!r}: {report.measured} measured, {report.reused} '
          f'reused) on {table.device} in {time.perf_counter() - start:.1f}s')
    if report.noisy:
        print(f'{len(report.noisy)} noisy entries (relative std. error of '
              f'the mean > {args.rel_std}; raise --max-repeats / '
              '--max-seconds or build on an idle machine):')
        for key, mean, std, count, rel in sorted(
                report.noisy, key=lambda r: -r[4])[:10]:
            print(f'  {key}: {mean:.3f} ms +- {std:.3f} (n={count}, '
                  f'rel. s.e. {rel:.3f})')
        if len(report.noisy) > 10:
            print(f'  ... and {len(report.noisy) - 10} more')
    return 0


if __name__ == '__main__':
    sys.exit(main())
