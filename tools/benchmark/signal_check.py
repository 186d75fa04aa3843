"""Signal check: architecture share of the top-1 variance at one latency.

Draws (or reuses) a pool of random architectures of the search config's
space, picks ``--archs`` of them within ``--tolerance`` of one latency
(``--latency`` in ms, or ``--latency-quantile`` of the pool, default the
median), retrains each with ``--seeds`` seeds of a fixed seed list, tests
each on the test split and reports the one-way random-effects ANOVA: the
architecture share of the variance (ICC) with a bootstrap CI, the SD of the
per-architecture means, the smallest searched-minus-random difference the
comparison protocol detects, and the CPU-hours used. Resumable: a second
call reuses every finished run; ``--finished-only`` reports the runs
finished so far without starting any (a check split over sittings). Writes ``signal.json`` and ``signal.md``
(and ``pool.json.gz`` unless ``--pool`` names another) into ``--work-dir``.
What it runs: ``densenas_mm.experiments.signal_check``.

Example (the demo setting, docs/search_quality.md)::

    python tools/benchmark/signal_check.py \
        configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py \
        --subnet-config \
        configs/densenas/subnets/densenas_subnet-demo_1xb32-12e_fmnist.py \
        --lut work_dirs/latency/densenas_demo_32_cpu_b32_t1.json \
        --archs 12 --seeds 3 --jobs 2 --work-dir work_dirs/signal_demo
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.cli import one_thread_per_run, run_cli
from densenas_mm.experiments.signal_check import SEED_LIST, signal_check


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='search config (its space)')
    p.add_argument('--subnet-config', required=True, help='retrain config')
    p.add_argument('--lut', required=True, help='latency table (JSON)')
    p.add_argument('--archs', type=int, default=12,
                   help='architectures K (default 12)')
    p.add_argument('--seeds', type=int, default=3,
                   help='retrain seeds S of each (the first S of the seed '
                   f'list, default 3)')
    where = p.add_mutually_exclusive_group()
    where.add_argument('--latency', type=float,
                       help='the latency (ms) the architectures match')
    where.add_argument('--latency-quantile', type=float,
                       help='else this quantile of the pool (default 0.5)')
    p.add_argument('--tolerance', type=float, default=0.01,
                   help='relative latency window (default 0.01)')
    p.add_argument('--jobs', type=int, default=2,
                   help='retrains at once (each with one thread)')
    p.add_argument('--seed-list', type=int, nargs='+',
                   default=list(SEED_LIST),
                   help='the fixed retrain seed list (default %(default)s)')
    p.add_argument('--pool', help='pool file of random architectures '
                   '(default <work-dir>/pool.json.gz; drawn when missing)')
    p.add_argument('--pool-seed', type=int, default=0)
    p.add_argument('--pool-draws', type=int, default=5000)
    p.add_argument('--latency-key', default='latency',
                   help="the estimator's number the pool is matched on")
    p.add_argument('--retrain-epochs', type=int,
                   help='override the subnet max_epochs')
    p.add_argument('--subnet-options', nargs='*', default=[],
                   help='more --cfg-options of every retrain')
    p.add_argument('--n-searched', type=int, default=4,
                   help='searched nets of the planned comparison (power)')
    p.add_argument('--n-random', type=int, default=10,
                   help='random nets per searched net in it (power)')
    p.add_argument('--bootstrap-reps', type=int, default=2000)
    p.add_argument('--finished-only', action='store_true',
                   help='start no run: report the runs finished so far')
    p.add_argument('--allow-noisy-lut', action='store_true',
                   help='use a latency table marked noisy')
    p.add_argument('--work-dir', default='work_dirs/signal_check')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point; returns what signal.json holds."""
    args = parse_args(argv)
    one_thread_per_run()  # every worker process runs with one thread
    return signal_check(**vars(args))


if __name__ == '__main__':
    sys.exit(run_cli(main))
