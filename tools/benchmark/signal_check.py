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
from densenas_mm.experiments.protocol_args import (add_pool, add_retrains,
                                                   add_runs)
from densenas_mm.experiments.signal_check import signal_check


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_retrains(p)
    p.add_argument('--archs', type=int, default=12,
                   help='architectures K (default 12)')
    where = p.add_mutually_exclusive_group()
    where.add_argument('--latency', type=float,
                       help='the latency (ms) the architectures match')
    where.add_argument('--latency-quantile', type=float,
                       help='else this quantile of the pool (default 0.5)')
    p.add_argument('--tolerance', type=float, default=0.01,
                   help='relative latency window (default 0.01)')
    add_pool(p)
    p.add_argument('--n-searched', type=int, default=4,
                   help='searched nets of the planned comparison (power)')
    p.add_argument('--n-random', type=int, default=10,
                   help='random nets per searched net in it (power)')
    add_runs(p, 'work_dirs/signal_check', measure=False)
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point; returns what signal.json holds."""
    args = parse_args(argv)
    one_thread_per_run()  # every worker process runs with one thread
    return signal_check(**vars(args))


if __name__ == '__main__':
    sys.exit(run_cli(main))
