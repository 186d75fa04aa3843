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

from densenas_mm.apis.cli import add_round_args, round_settings
from densenas_mm.structures.published import DENSENAS_C


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
    parser.add_argument('--json', help='also write the rows to this JSON')
    return parser.parse_args(argv)


def load_arch(args: argparse.Namespace):
    from densenas_mm.structures import DerivedArch
    if args.densenas_c:
        source = DENSENAS_C
    elif args.arch:
        source = args.arch
        if not args.arch.endswith(('.yaml', '.yml', '.json')):
            with open(args.arch, encoding='utf-8') as f:
                source = f.read()
    else:
        raise SystemExit('give an architecture file or --densenas-c')
    arch = DerivedArch.load(source)
    if args.num_classes:
        arch.num_classes = args.num_classes
    return arch


def timing(args: argparse.Namespace) -> dict:
    """The round settings of the command line."""
    return dict(round_settings(args), clock=args.clock)


def random_nets(args: argparse.Namespace):
    from densenas_mm.apis.latency_agreement import random_archs
    if not args.config:
        raise SystemExit('--random needs --config (the search config of the '
                         "table's space)")
    return random_archs(args.config, args.random, args.seed)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from densenas_mm.latency import LatencyTable
    from densenas_mm.utils.io import dump_json_atomic
    table = LatencyTable.load(args.lut)
    quality = table.quality
    print(f'table: {args.lut} ({table.device}, batch {table.batch_size}, '
          f'{table.metadata.get("clock", "unknown")} clock); noise verdict '
          f'{quality.status}: {quality.reason}')
    if args.compare:
        return compare(args, table)
    threads = args.threads or (table.metadata.get('num_threads')
                               if args.device == 'cpu' else None)
    if threads:
        # Measure with the thread count the table was built with.
        torch.set_num_threads(int(threads))
    if args.random:
        from densenas_mm.apis.latency_agreement import rank_agreement
        report = rank_agreement(table, random_nets(args), args.device,
                                **timing(args))
        given = sys.argv[1:] if argv is None else argv
        report.update(
            command=' '.join(['python tools/analysis/latency_audit.py'] +
                             list(given)),
            seed=args.seed)
        print(format_rank(report))
        if args.json:
            dump_json_atomic(report, args.json, indent=2)
        return 0
    from densenas_mm.apis.latency_audit import audit_arch, format_audit
    rows = audit_arch(
        load_arch(args),
        table,
        device=args.device,
        batch_size=args.batch_size,
        **timing(args))
    print(f'measured on {args.device}, batch '
          f'{args.batch_size or table.batch_size}')
    print(format_audit(rows))
    if args.json:
        dump_json_atomic([
            dict(
                part=r.name,
                predicted_ms=r.predicted,
                measured_ms=r.measured,
                noise=r.noise,
                rounds=r.rounds,
                rel_error=r.rel_error) for r in rows
        ], args.json)
    return 0


def compare(args: argparse.Namespace, table) -> int:
    """The --compare mode."""
    from densenas_mm.apis.latency_agreement import compare_tables
    from densenas_mm.latency import LatencyTable
    from densenas_mm.utils.io import dump_json_atomic
    other = LatencyTable.load(args.compare)
    report = compare_tables(table, other,
                            random_nets(args) if args.random else ())
    entry = report['entry']
    print(f'{report["entries"]} common entries; max/min - 1 per entry: '
          f'median {100 * entry["median"]:.1f} %, p90 '
          f'{100 * entry["p90"]:.1f} %, max {100 * entry["max"]:.1f} %')
    if 'path' in report:
        path = report['path']
        print(f'path sums of {len(report["paths"])} random nets: median '
              f'{100 * path["median"]:.1f} %, max {100 * path["max"]:.1f} %')
    for w in report['worst']:
        print(f'  {w["key"]}: {w["a"]:.3f} vs {w["b"]:.3f} ms '
              f'({100 * w["diff"]:+.1f} %)')
    if args.json:
        dump_json_atomic(report, args.json, indent=2)
    return 0


def format_rank(report: dict) -> str:
    """The --random mode's table."""
    lines = [
        f'{"net":<4}{"LUT ms":>9}{"measured ms":>13}{"noise":>8}'
        f'{"rel. error":>12}'
    ]
    for i, n in enumerate(report['nets']):
        noise = '-' if n['noise'] is None else f'{100 * n["noise"]:.1f}%'
        lines.append(f'{i:<4}{n["predicted_ms"]:>9.3f}'
                     f'{n["measured_ms"]:>13.3f}{noise:>8}'
                     f'{100 * n["rel_error"]:>+11.1f}%')
    lines.append(
        f"Kendall's tau {report['kendall_tau']:.3f} (p "
        f"{report['kendall_p']:.2g}), Spearman's rho "
        f"{report['spearman_rho']:.3f} over {len(report['nets'])} nets; "
        f"{report['clock']} clock, {report['statistic']}; load "
        f"{report['load_before'][0]:.2f} -> {report['load_after'][0]:.2f}")
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(main())
