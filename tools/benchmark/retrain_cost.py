"""What makes one retrain cheaper: step and data variants, timed alternately.

Times, in one process and round by round, the training step of a subnet
config's model (the config's batch, larger batches, channels-last,
``torch.compile``) and its batch production (the config's data loader
in-process against preloaded images augmented in torch), as CPU and wall
seconds per image; the step variants that compute the same function also
report their loss and gradient difference after one step. What it runs:
``densenas_mm.experiments.retrain_cost`` (docs/benchmarks.md has the
numbers).

Example (one thread, as the demo's retrains)::

    OMP_NUM_THREADS=1 python tools/benchmark/retrain_cost.py \
        configs/densenas/subnets/densenas_subnet-demo_1xb32-12e_fmnist.py \
        --rounds 5 --calls 10 --out work_dirs/bench/retrain_cost.json
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
from typing import Any, Dict, List, Optional

from densenas_mm.experiments.retrain_cost import STEP_VARIANTS


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='subnet (retrain) config')
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--calls', type=int, default=10,
                   help='steps (or batches) per variant and round')
    p.add_argument('--variants', nargs='+', default=list(STEP_VARIANTS),
                   choices=list(STEP_VARIANTS))
    p.add_argument('--no-data', dest='data', action='store_false',
                   help='time the step variants only')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cfg-options', dest='options', nargs='*', default=[],
                   help='key=value options of the config')
    p.add_argument('--out', default=None, help='write the report as JSON')
    args = p.parse_args(argv)
    if min(args.rounds, args.calls) < 1:
        p.error('--rounds and --calls must be >= 1')
    return args


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    """Entry point; returns the report."""
    from densenas_mm.apis.cli import print_and_save
    from densenas_mm.experiments.retrain_cost import format_report, run
    args = parse_args(argv)
    report = run(**vars(args))
    print_and_save(report, format_report(report), None)
    return report


if __name__ == '__main__':
    main()
