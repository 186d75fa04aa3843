"""Write the DenseNAS ImageNet-N search split (search_train / search_val).

Example:
    python tools/dataset/make_imagenet_subset.py data/imagenet/train \
        --out-dir data/imagenet/meta/imagenet100 --num-classes 100
"""
import argparse
import sys

from densenas_mm.apis.cli import run_cli
from densenas_mm.datasets.imagenet_subset import make_imagenet_subset


def parse_args(argv=None) -> argparse.Namespace:
    """Parse command line arguments."""
    parser = argparse.ArgumentParser(
        description='Pick N ImageNet classes and split their training '
        'images into search_train.txt / search_val.txt (mmcls format, paths '
        'relative to the train directory) plus classes.txt.')
    parser.add_argument('train_dir', help='ImageNet train directory')
    parser.add_argument(
        '--out-dir', required=True, help='where to write the lists')
    parser.add_argument('--num-classes', type=int, default=100)
    parser.add_argument(
        '--seed',
        type=int,
        default=None,
        help='sample the classes at random with this seed (default: the '
        'first N class folders in sorted order)')
    parser.add_argument(
        '--split',
        type=float,
        default=0.8,
        help='fraction of each class used for search_train')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    counts = make_imagenet_subset(
        args.train_dir,
        args.out_dir,
        num_classes=args.num_classes,
        seed=args.seed,
        split=args.split)
    print(f'{args.num_classes} classes -> {args.out_dir}: '
          f'search_train={counts["search_train"]}, '
          f'search_val={counts["search_val"]}')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
