"""Image sizes and per-channel mean / std of the images an annotation list
names: the numbers for a config's data preprocessor.

Example:
    python tools/dataset/image_stats.py data/my_images \
        --ann-file data/my_images/meta/search_train.txt
    # -> sizes: 64x64: 90 images
    #    mean=[...], std=[...]  (RGB, 0..255: data_preprocessor with
    #    to_rgb=True, or own_data.mean / own_data.std in the template)
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from densenas_mm.apis.cli import run_cli
from densenas_mm.datasets import (channel_stats, read_annotation,
                                  scan_sizes)


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
    from densenas_mm.utils.io import dump_json_atomic
    args = parse_args(argv)
    paths = [osp.join(args.root, name)
             for name, _ in read_annotation(args.ann_file)]
    sizes = scan_sizes(paths)
    print('sizes: ' + ', '.join(f'{w}x{h}: {len(p)} images'
                                for (w, h), p in sizes.items()))
    result = dict(sizes={f'{w}x{h}': len(p) for (w, h), p in sizes.items()})
    if not args.sizes_only:
        stats = channel_stats(paths)
        result.update(stats)
        print(f'mean={stats["mean"]}, std={stats["std"]}  (RGB, 0..255, '
              f'{stats["pixels"]} pixels: data_preprocessor with '
              'to_rgb=True, or own_data.mean / own_data.std)')
    if args.json:
        dump_json_atomic(result, args.json)
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
