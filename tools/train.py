"""Train a model (classifier, supernet search or derived subnet) with mmengine.

Examples:
    python tools/train.py configs/baseline/mobilenet-v2_w0.5_1xb32-2e_digits.py
    python tools/train.py CONFIG --resume              # latest in work_dir
    python tools/train.py CONFIG --resume path/to/epoch_3.pth
    bash tools/dist_train.sh CONFIG 4 --amp             # 4 GPUs

Without CUDA, distributed runs switch the backend to gloo and wrap the model
with ``device_ids=[]`` (see ``densenas_mm.apis.launch``).

Checkpoints are written atomically and loaded strictly, without running code
from the file (``densenas_mm.DenseNASCheckpointHook``). ``--resume`` without
a path continues from ``last_checkpoint``; an empty one, or one naming a
missing or truncated file, is an error that names the newest intact
checkpoint. Bad input exits with status 1 and one ``error:`` line.
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import os
import sys
from typing import List, Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from densenas_mm.apis.cli import add_cfg_options, add_launcher, run_cli
from densenas_mm.apis.launch import (adapt_cfg_for_cpu_distributed,
                                     enable_amp, merge_common_args,
                                     resume_target, sanitize_dataloaders,
                                     use_safe_checkpointing)
from densenas_mm.models.backbones import check_head_fits


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse command line arguments.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(description='Train with mmengine')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='directory for logs and checkpoints '
        '(default: work_dirs/<config name>)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a value from the '
        'latest checkpoint in the work directory')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision: AmpOptimWrapper for the optimiser '
        '(both optimisers of a search config); needs a GPU')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not validate during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by actual / auto_scale_lr.base_batch_size')
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
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.amp:
        enable_amp(cfg)
    if args.resume is not None:
        # None: --resume without a path and no last_checkpoint yet (mmengine
        # then starts from scratch, saying it found nothing to resume)
        cfg.resume = True
        cfg.load_from = resume_target(args.resume, cfg.work_dir)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise ValueError('--auto-scale-lr needs `auto_scale_lr = '
                             'dict(base_batch_size=...)` in the config')
        cfg.auto_scale_lr.enable = True
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.
    """
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    sanitize_dataloaders(cfg)
    changes = use_safe_checkpointing(cfg)
    changes += adapt_cfg_for_cpu_distributed(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    for change in changes:
        print_log(change, logger='current')
    check_head_fits(getattr(runner.model, 'module', runner.model))
    runner.train()


if __name__ == '__main__':
    sys.exit(run_cli(main))
