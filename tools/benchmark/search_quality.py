"""Searched vs random architectures at matched latency (and budget sweeps).

Searches once per ``--seeds`` seed, draws ``--random`` random architectures
of the same space within ``--tolerance`` of the searched nets' mean LUT
latency, retrains every net from scratch with the same recipe and evaluates
it; optionally searches with latency budgets (``--targets``) and reports
where the derived latency lands. Writes ``results.json``, ``results.md`` and
``results.png`` (LUT latency vs top-1 and measured latency vs top-1) into
``--work-dir``. What each step runs: ``densenas_mm.experiments.search_quality``
(``compare``; every search, retrain and test in its own worker process:
``densenas_mm.experiments.runs``).

Example (the numbers in README; about an hour on 2 CPU cores)::

    python tools/benchmark/search_quality.py \
        --lut work_dirs/latency/densenas_demo_32_cpu_b32_t1.json \
        --seeds 0 1 2 --random 8 --targets 4 5 6 --jobs 2 \
        --work-dir work_dirs/search_quality
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.cli import one_thread_per_run, run_cli
from densenas_mm.experiments.search_quality import (DEMO_SEARCH, DEMO_SUBNET,
                                                    compare)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--search-config', default=DEMO_SEARCH)
    p.add_argument('--subnet-config', default=DEMO_SUBNET)
    p.add_argument('--lut', required=True, help='latency table (JSON)')
    p.add_argument('--work-dir', default='work_dirs/search_quality')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--random', type=int, default=8,
                   help='random architectures at matched latency')
    p.add_argument('--tolerance', type=float, default=0.05,
                   help='relative LUT-latency window of the random nets')
    p.add_argument('--random-seed', type=int, default=0)
    p.add_argument('--arch', choices=['best', 'last'], default='best',
                   help='which derived architecture of a seed search (the '
                   'budget searches report where they end, last.yaml, and '
                   'best.yaml next to it)')
    p.add_argument('--search-epochs', type=int, help='override max_epochs')
    p.add_argument('--warmup-epochs', type=int,
                   help='override the warm-up epochs')
    p.add_argument('--retrain-epochs', type=int,
                   help='override the subnet max_epochs')
    p.add_argument('--retrain-seed', type=int, nargs='+', default=[0],
                   help='retrain seeds: every net is retrained once per seed '
                   'and scored by its mean top-1 (one retrain moves by '
                   '0.5-0.7 points on the demo, docs/demo.md)')
    p.add_argument('--targets', type=float, nargs='*', default=[],
                   help='latency budgets (ms) of LatencyLoss(target=T)')
    p.add_argument('--budget-weight', type=float, default=None,
                   help='loss_weight of the budget searches')
    p.add_argument('--budget-under-weight', type=float, default=None,
                   help='under_weight of the budget searches (1: a net under '
                   'budget pays as much as one over it; 0: the paper loss)')
    p.add_argument('--reuse', action='store_true',
                   help='skip searches and retrains that finished with the '
                   'same call in an earlier run (their done.json)')
    p.add_argument('--retrain-budget', action='store_true',
                   help='also retrain the budget searches\' nets')
    p.add_argument('--measure', action='store_true',
                   help='measure whole-net latency of every net here')
    p.add_argument('--allow-noisy-lut', action='store_true',
                   help='use a latency table marked noisy (searches and '
                   'baselines warn instead of refusing it)')
    p.add_argument('--jobs', type=int, default=1,
                   help='runs at once (each with one thread)')
    p.add_argument('--search-options', nargs='*', default=[],
                   help='more --cfg-options of every search')
    p.add_argument('--subnet-options', nargs='*', default=[],
                   help='more --cfg-options of every retrain')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point; returns the summary."""
    args = parse_args(argv)
    one_thread_per_run()  # every worker process runs with one thread
    return compare(**vars(args))


if __name__ == '__main__':
    sys.exit(run_cli(main))
