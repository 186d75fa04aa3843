"""Evaluate a checkpoint with the config's test loader and evaluator.

Examples:
    python tools/test.py configs/baseline/mobilenet-v2_w0.5_1xb32-2e_digits.py \
        work_dirs/mobilenet-v2_w0.5_1xb32-2e_digits/epoch_2.pth --out metrics.json
    bash tools/dist_test.sh CONFIG CHECKPOINT 4

``--out`` writes the metrics (json / yaml / pkl by extension), e.g.
``{"accuracy/top1": 91.3, "accuracy/top5": 99.7}``; with
``--out-item pred`` it dumps the per-sample predictions instead.
``--show-dir`` and ``--tta`` are mmcls's (predictions drawn; flip
test-time augmentation), for classifier configs.

The checkpoint must fit the config's model exactly (a missing, unexpected or
shape-mismatched key is an error listing them, not a score) and is read
without running code from it. Bad input exits with status 1 and one
``error:`` line.
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import os
import sys
from typing import Dict, List, Optional

from densenas_mm.apis.cli import add_cfg_options, add_launcher, run_cli
from densenas_mm.apis.launch import run_test


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse command line arguments.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='directory for the test logs (default: '
        'work_dirs/<config name>)')
    parser.add_argument(
        '--out', help='dump the metrics (or predictions) to this file')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        default='metrics',
        help='what --out receives: metrics (json / yaml / pkl, default) '
        'or pred (per-sample predictions, a .pkl file)')
    parser.add_argument(
        '--show-dir',
        help='draw every --interval-th test image with its prediction into '
        'this folder (mmcls VisualizationHook; classifier configs)')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='with --show-dir: draw every N-th image (default 1)')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation as mmcls: the config\'s tta_model / '
        'tta_pipeline, else the scores of the image and its horizontal '
        'flip averaged (classifier configs)')
    add_cfg_options(parser)
    add_launcher(parser)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    """Entry point.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        dict: The metrics returned by ``Runner.test``.
    """
    args = vars(parse_args(argv))
    args.pop('local_rank')
    return run_test(args.pop('config'), args.pop('checkpoint'), **args)


if __name__ == '__main__':
    sys.exit(run_cli(main))
