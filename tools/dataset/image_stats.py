"""Image sizes and per-channel mean / std of the images an annotation list
names: the numbers for a config's data preprocessor.

Example:
    python tools/dataset/image_stats.py data/my_images \
        --ann-file data/my_images/meta/search_train.txt
    # -> sizes: 64x64: 90 images
    #    mean=[...], std=[...]  (RGB, 0..255: a data_preprocessor with
    #    to_rgb=True, or own_data.mean / own_data.std in the template)
"""
import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.cli import emit, run_cli
from densenas_mm.apis.dataset_tools import image_stats


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse command line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='data root the list is relative to')
    parser.add_argument(
        '--ann-file',
        required=True,
        help='mmcls annotation list ("relative/path label" lines)')
    parser.add_argument(
        '--sizes-only',
        action='store_true',
        help='only the sizes (header scan, no decoding)')
    parser.add_argument('--json', help='also write the result here')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit status."""
    return emit(image_stats(**vars(parse_args(argv))))


if __name__ == '__main__':
    sys.exit(run_cli(main))
