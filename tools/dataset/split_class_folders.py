"""Split a class-folder image dataset into mmcls annotation lists.

``ROOT/<class>/<image>`` -> ``OUT/<part>.txt`` (``<class>/<file> <label>``
lines, relative to ROOT), ``OUT/classes.txt`` and ``OUT/train.txt``
(search_train + search_val); stratified (every class split with the same
fractions) and seeded.

Examples:
    # your own images: 60 / 20 / 20 per class into data/my_images/meta
    python tools/dataset/split_class_folders.py data/my_images
    # the DenseNAS ImageNet-100 search split (make_imagenet_subset.py)
    python tools/dataset/split_class_folders.py data/imagenet/train \
        --out-dir data/imagenet/meta/imagenet100 --num-classes 100 \
        --parts search_train=0.8 search_val=0.2
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional

from densenas_mm.apis.cli import run_cli
from densenas_mm.datasets.class_folders import (DEFAULT_PARTS, SubsetError,
                                                split_class_folders)


def _parts(items: List[str]) -> Dict[str, float]:
    parts: Dict[str, float] = {}
    for item in items:
        name, _, value = item.partition('=')
        try:
            parts[name] = float(value)
        except ValueError:
            raise SubsetError(f'--parts takes NAME=FRACTION items, got '
                              f'{item!r}') from None
    return parts


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse command line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='folder with one sub-folder per class')
    parser.add_argument(
        '--out-dir', help='where to write the lists (default: ROOT/meta)')
    parser.add_argument(
        '--parts',
        nargs='+',
        default=[f'{k}={v}' for k, v in DEFAULT_PARTS.items()],
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
    args = parse_args(argv)
    out_dir = args.out_dir or osp.join(args.root, 'meta')
    counts = split_class_folders(
        args.root,
        out_dir,
        parts=_parts(args.parts),
        num_classes=args.num_classes,
        seed=args.seed)
    listed = ', '.join(f'{k}={v}' for k, v in counts.items())
    print(f'{args.root} -> {out_dir}: {listed} (+ classes.txt)')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
