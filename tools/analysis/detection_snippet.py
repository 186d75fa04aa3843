"""Print the mmdet backbone + FPN config of a derived DenseNAS net: the
stage channels and strides read from the architecture, not typed by hand.

Examples:
    python tools/analysis/detection_snippet.py \
        configs/densenas/subnets/archs/densenas_demo_32_example.yaml
    python tools/analysis/detection_snippet.py \
        work_dirs/densenas_supernet-mbv2_4xb88-150e_in100/arch/best.yaml \
        --out-indices 1 2 3 --input-size 800
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.cli import emit, run_cli
from densenas_mm.apis.detection import detection_snippet


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('arch', help='derived architecture YAML')
    parser.add_argument(
        '--out-indices',
        type=int,
        nargs='+',
        help='stages fed to the neck (default: all)')
    parser.add_argument('--out-channels', type=int, default=256)
    parser.add_argument(
        '--num-outs',
        type=int,
        help='FPN levels (default: stages + 1)')
    parser.add_argument(
        '--input-size',
        type=int,
        help='input size for the feature sizes shown (default: the '
        "architecture's)")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point; returns the layout."""
    output = detection_snippet(**vars(parse_args(argv)))
    emit(output)
    return output.result


if __name__ == '__main__':
    sys.exit(run_cli(main))
