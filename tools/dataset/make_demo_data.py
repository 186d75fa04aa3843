"""Build the embedded demo dataset (scikit-learn digits, 32x32 RGB PNGs).

Example:
    python tools/dataset/make_demo_data.py --out data/demo_digits
"""
import argparse
import sys

from densenas_mm.apis.cli import run_cli
from densenas_mm.datasets import build_demo_data


def parse_args(argv=None) -> argparse.Namespace:
    """Parse command line arguments."""
    parser = argparse.ArgumentParser(
        description='Build the digits demo dataset in mmcls CustomDataset '
        'format (search_train / search_val / test / train lists).')
    parser.add_argument(
        '--out', default='data/demo_digits', help='output directory')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the per-class split')
    parser.add_argument(
        '--force', action='store_true', help='rebuild even if it exists')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Entry point."""
    args = parse_args(argv)
    print(
        build_demo_data(
            args.out,
            seed=args.seed,
            force=args.force,
            progress=not args.no_progress).summary())


if __name__ == '__main__':
    sys.exit(run_cli(main))
