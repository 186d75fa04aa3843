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
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys

from densenas_mm.apis.cli import run_cli
from densenas_mm.apis.latency_table import import_reference_table


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
    """Entry point: import the list, print what was written."""
    args = parse_args(argv)
    print(import_reference_table(**vars(args)))
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
