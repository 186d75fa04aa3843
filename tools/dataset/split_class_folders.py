"""Split a class-folder image dataset into mmcls annotation lists.

``ROOT/<class>/<image>`` -> ``OUT/<part>.txt`` (``<class>/<file> <label>``
lines, relative to ROOT), ``OUT/classes.txt`` and ``OUT/train.txt``
(search_train + search_val); stratified (every class split with the same
fractions) and seeded (``densenas_mm.datasets.class_folders``).

Examples:
    # your own images: 60 / 20 / 20 per class into data/my_images/meta
    python tools/dataset/split_class_folders.py data/my_images
    # the DenseNAS ImageNet-100 search split (as make_imagenet_subset.py)
    python tools/dataset/split_class_folders.py data/imagenet/train \
        --out-dir data/imagenet/meta/imagenet100 --num-classes 100 \
        --parts search_train=0.8 search_val=0.2
"""
import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.cli import emit, run_cli
from densenas_mm.apis.dataset_tools import split_folders


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse command line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='folder with one sub-folder per class')
    parser.add_argument(
        '--out-dir', help='where to write the lists (default: ROOT/meta)')
    parser.add_argument(
        '--parts',
        nargs='+',
        default=[],
        help='NAME=FRACTION of every class, summing to 1 (default: '
        'search_train=0.6 search_val=0.2 test=0.2)')
    parser.add_argument(
        '--num-classes',
        type=int,
        help='use this many classes (default: all folders)')
    parser.add_argument(
        '--seed',
        type=int,
        default=None,
        help='seed of the per-class shuffles and, with --num-classes, of '
        'a random class sample (default: the first N folders, shuffles '
        'seeded with 0)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit status."""
    return emit(split_folders(**vars(parse_args(argv))))


if __name__ == '__main__':
    sys.exit(run_cli(main))
