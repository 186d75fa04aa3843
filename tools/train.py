"""Train a model (classifier, supernet search or derived subnet) with mmengine.

Examples:
    python tools/train.py configs/baseline/mobilenet-v2_w0.5_1xb32-2e_digits.py
    python tools/train.py CONFIG --resume              # latest in work_dir
    python tools/train.py CONFIG --resume path/to/epoch_3.pth
    bash tools/dist_train.sh CONFIG 4 --amp             # 4 GPUs

Without CUDA, distributed runs switch the backend to gloo and wrap the model
with ``device_ids=[]`` (see ``densenas_mm.apis.launch``,
whose ``run_train`` does this tool's job).

Checkpoints are written atomically and loaded strictly, without running code
from the file (``densenas_mm.DenseNASCheckpointHook``). ``--resume`` without
a path continues from ``last_checkpoint``; none, an empty one, or one naming
a missing or truncated file, is an error that names the newest intact
checkpoint. A resume with other settings than the checkpoint's run (world
size, batch size, seed, epochs, latency table) logs what changed. Rank 0
holds the work dir's lock: a second run into the same work dir stops with
the holder's host and PID. Bad input exits with status 1 and one ``error:``
line.
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import os
import sys
from typing import List, Optional

from densenas_mm.apis.cli import add_cfg_options, add_launcher, run_cli
from densenas_mm.apis.launch import run_train


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
        'latest checkpoint in the work directory (none there: an error); '
        'also takes over a work-dir lock left by a run on another host')
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


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.
    """
    args = vars(parse_args(argv))
    args.pop('local_rank')
    run_train(args.pop('config'), **args)


if __name__ == '__main__':
    sys.exit(run_cli(main))
