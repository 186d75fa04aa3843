"""Audit a latency table: LUT prediction vs latency measured here.

For a derived architecture (YAML written by DerivedArch.dump, a net_config
string / file, or the published DenseNAS-C with --densenas-c) the net is
built from the same modules the table measures (stem, blocks, terminal 1x1,
pooling + classifier); each part and then the whole net is timed on this
device and compared with the table's prediction.

Examples:
    python tools/analysis/latency_audit.py \
        work_dirs/densenas_supernet-demo_1xb32-20e_digits/arch/last.yaml \
        --lut work_dirs/latency/densenas_demo_32_cpu_b32_t1.json
    python tools/analysis/latency_audit.py --densenas-c --num-classes 100 \
        --lut resources/latency/densenas_mbv2_224_ref_b32.json --batch-size 1
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys

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
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--min-repeats', type=int, default=5)
    parser.add_argument('--max-repeats', type=int, default=30)
    parser.add_argument('--rel-std', type=float, default=0.05)
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


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from densenas_mm.apis.latency_audit import audit_arch, format_audit
    from densenas_mm.latency import LatencyTable
    from densenas_mm.utils.io import dump_json_atomic
    arch = load_arch(args)
    table = LatencyTable.load(args.lut)
    threads = args.threads or (table.metadata.get('num_threads')
                               if args.device == 'cpu' else None)
    if threads:
        # Measure with the thread count the table was built with.
        torch.set_num_threads(int(threads))
    rows = audit_arch(
        arch,
        table,
        device=args.device,
        batch_size=args.batch_size,
        warmup=args.warmup,
        min_repeats=args.min_repeats,
        max_repeats=args.max_repeats,
        rel_std=args.rel_std)
    print(f'table: {args.lut} ({table.device}, batch {table.batch_size}); '
          f'measured on {args.device}, batch '
          f'{args.batch_size or table.batch_size}')
    print(format_audit(rows))
    if args.json:
        dump_json_atomic([
            dict(
                part=r.name,
                predicted_ms=r.predicted,
                measured_ms=r.measured,
                std_ms=r.std,
                rel_error=r.rel_error) for r in rows
        ], args.json)
    return 0


if __name__ == '__main__':
    sys.exit(main())
