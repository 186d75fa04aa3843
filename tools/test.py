"""Evaluate a checkpoint with the config's test loader and evaluator.

Examples:
    python tools/test.py configs/baseline/mobilenet-v2_w0.5_1xb32-2e_digits.py \
        work_dirs/mobilenet-v2_w0.5_1xb32-2e_digits/epoch_2.pth --out metrics.json
    bash tools/dist_test.sh CONFIG CHECKPOINT 4

``--out`` writes the metrics (json / yaml / pkl by extension), e.g.
``{"accuracy/top1": 91.3, "accuracy/top5": 99.7}``; with
``--out-item pred`` it dumps the per-sample predictions instead.

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

import mmengine
from mmengine.config import Config
from mmengine.evaluator import DumpResults
from mmengine.logging import print_log
from mmengine.runner import Runner

from densenas_mm.apis.cli import add_cfg_options, add_launcher, run_cli
from densenas_mm.apis.launch import (adapt_cfg_for_cpu_distributed,
                                     merge_common_args, sanitize_dataloaders,
                                     use_safe_checkpointing)
from densenas_mm.models.backbones import check_head_fits
from densenas_mm.utils.checkpoint import read_checkpoint
from densenas_mm.utils.io import atomic_path, prepare_output_file


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
    add_cfg_options(parser)
    add_launcher(parser)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge the command line into the config.

    Args:
        cfg (Config): Loaded config.
        args (argparse.Namespace): Parsed arguments.

    Returns:
        Config: The same config, updated.
    """
    merge_common_args(cfg, args.config, args.work_dir, args.launcher)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    """Entry point.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        dict: The metrics returned by ``Runner.test``.
    """
    args = parse_args(argv)
    # fails here, naming the file, for a missing, empty, truncated or unsafe
    # checkpoint (the runner loads it again after building the model)
    read_checkpoint(args.checkpoint)
    if args.out:
        prepare_output_file(args.out, '--out')
    cfg = merge_args(Config.fromfile(args.config), args)
    sanitize_dataloaders(cfg)
    changes = use_safe_checkpointing(cfg, training=False)
    changes += adapt_cfg_for_cpu_distributed(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    for change in changes:
        print_log(change, logger='current')
    check_head_fits(getattr(runner.model, 'module', runner.model))
    if args.out and args.out_item == 'pred':
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    metrics = runner.test()
    if args.out and args.out_item == 'metrics' and runner.rank == 0:
        # mmengine picks the format from the suffix: keep it on the temp file
        suffix = os.path.splitext(args.out)[1]
        with atomic_path(args.out, suffix=suffix) as tmp:
            mmengine.dump(metrics, tmp)
        print_log(f'metrics written to {args.out}', logger='current')
    return metrics


if __name__ == '__main__':
    sys.exit(run_cli(main))
