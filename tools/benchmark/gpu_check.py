"""The prepared first-GPU check: CUDA vs CPU steps, AMP gradients, a CUDA
latency-table chunk and the DDP traffic (``densenas_mm.experiments.gpu_check``;
about 5 minutes on one GPU).

Each stage writes ``OUT/<stage>.json`` as it finishes, then
``OUT/summary.json``; the exit status is 1 when a stage fails its check.

Examples::

    python tools/benchmark/gpu_check.py --out work_dirs/gpu_check
    python tools/benchmark/gpu_check.py --out work_dirs/gpu_check_dry --dry-run
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
from typing import List, Optional

from densenas_mm.apis.cli import run_cli
from densenas_mm.experiments.gpu_check import STAGES, gpu_check_status


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--out', default='work_dirs/gpu_check', help='output folder')
    p.add_argument(
        '--dry-run',
        action='store_true',
        help='every stage on the CPU (gloo), small: a rehearsal')
    p.add_argument(
        '--stages', nargs='+', default=list(STAGES), choices=list(STAGES))
    p.add_argument(
        '--batch-size',
        type=int,
        help='images per step (default 16 on a GPU, 4 with --dry-run)')
    p.add_argument(
        '--ddp-steps',
        type=int,
        help='steps per phase in the ddp stage (default 10, 1 dry)')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    return gpu_check_status(
        args.out,
        dry_run=args.dry_run,
        stages=args.stages,
        batch_size=args.batch_size,
        ddp_steps=args.ddp_steps)


if __name__ == '__main__':
    raise SystemExit(run_cli(main))
