"""Print the structure of a DenseNAS search space.

Usage::

    python tools/analysis/search_space_info.py \
        configs/_base_/search_spaces/densenas_mbv2_224.py [--blocks]

Prints blocks, edges, head branches, stacking layers, distinct paths and the
supernet's parameter count (the paper's MobileNetV2 space gives 16 blocks,
54 edges, 51 head branches, 39 stacking layers and 15,456 paths).
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys

from densenas_mm.apis.cli import run_cli
from densenas_mm.apis.space_info import space_info


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='space preset or search config')
    parser.add_argument(
        '--blocks', action='store_true', help='also list every block')
    parser.add_argument(
        '--no-params',
        action='store_true',
        help='skip building the supernet to count its parameters')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Entry point: print the space's structure."""
    args = parse_args(argv)
    print(space_info(**vars(args)))


if __name__ == '__main__':
    sys.exit(run_cli(main))
