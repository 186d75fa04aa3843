"""Convert the DenseNAS reference code's positional latency list to a table.

Reads e.g. resources/latency/lat_list_densenas_mbv2_xp32 (the paper's list,
shipped with the project; parsed with ast.literal_eval), maps every number
to its keyed entry of the matching search space and writes a versioned
latency table (JSON), printing how many scalars were consumed. The converted
tables of both lists are shipped too (resources/latency/README.md); this
tool regenerates them or converts another list.

Examples:
    python tools/analysis/import_reference_lut.py \
        resources/latency/lat_list_densenas_mbv2_xp32
    # -> work_dirs/latency/densenas_mbv2_224_ref_b32.json
    python tools/analysis/import_reference_lut.py \
        resources/latency/lat_list_resv2_32 --kind resnet
    # -> work_dirs/latency/densenas_resnet_224_ref_b32.json
"""
import argparse
import os
import sys


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Import a DenseNAS reference latency list.')
    parser.add_argument('file', help='reference list file')
    parser.add_argument(
        '--kind',
        choices=['mbv2', 'resnet'],
        help='which reference table (default: guessed from '
        'the file name, mbv2 unless it contains "res")')
    parser.add_argument(
        '--space',
        help='search-space config to map onto '
        '(default: the paper space of --kind)')
    parser.add_argument('--device', help='device name for the metadata')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument(
        '--num-classes',
        type=int,
        help='classes the classifier entry is keyed by (default: the '
        "space's num_classes; the reference file does not state it)")
    parser.add_argument(
        '--out',
        help='output JSON (default work_dirs/latency/SPACE_ref_bB.json, '
        'the naming rule of densenas_mm.latency.paths)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from densenas_mm.latency import (REFERENCE_TABLES, import_reference,
                                     table_path)
    from densenas_mm.search_space import load_preset, search_space_from_cfg

    kind = args.kind or ('resnet'
                         if 'res' in os.path.basename(args.file) else 'mbv2')
    preset = REFERENCE_TABLES[kind]
    space = (search_space_from_cfg(args.space)
             if args.space else load_preset(preset['preset']))
    with open(args.file, encoding='utf-8') as f:
        text = f.read()
    table, report = import_reference(
        text,
        space,
        device=args.device or preset['device'],
        batch_size=args.batch_size,
        num_classes=args.num_classes,
        source=f'JaminFong/DenseNAS@e479206 {os.path.basename(args.file)}')
    out = args.out or table_path(space.name, 'ref', args.batch_size)
    table.save(out)
    print(f'{args.file}: {report.scalars} scalar entries consumed: '
          f'{report.used} mapped, {report.ignored} ignored (stacking rows '
          f'the space does not have)')
    print(f'wrote {out}: {report.entries} keyed entries '
          f'({report.skip_entries} skip entries: the estimator costs a '
          f'skip layer with them, as the reference does, unless skip_reg)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
