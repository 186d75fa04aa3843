"""Searched vs random with statistics: the comparison protocol (issue 21.4).

One search per ``--search-seeds`` seed; each searched net against the
``--random`` first nets of the shared pool within ``--tolerance`` of its own
predicted latency (widened stepwise up to ``--max-tolerance``); an
equal-cost RS-WS arm (one supernet trained with uniformly sampled ops and
paths for the search's epochs, the best of ``--rsws-candidates``
latency-matched pool nets by recalibrated supernet score); a hand-designed
uniform net at the same latency; optional extra searched arms
(``--extra-arm NAME=CONFIG[,KEY=VALUE...]``, repeatable: another search
config with its own config options, e.g. an option beyond the paper,
searched once per search seed in ``<work-dir>/search_<NAME>_s<seed>/``,
each net matched to its own window of the same pool; the report adds the
arm minus its random nets and searched minus the arm). Every net is
retrained with the first
``--seeds`` seeds of ``--seed-list`` and tested; the report gives each
arm minus its random nets with hierarchical bootstrap CIs, percentiles and
seed-matched pairs won. Resumable: a second call reuses every finished
search, scoring and retrain; ``--finished-only`` reports what has finished
without starting anything. Writes ``results.json``, ``results.md`` and
``results.png`` (and ``pool.json.gz`` unless ``--pool`` names another) into
``--work-dir``. What it runs: ``densenas_mm.experiments.search_vs_random``.

Example (docs/search_quality.md, "Searched vs random")::

    python tools/benchmark/search_vs_random.py \
        configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py \
        --subnet-config \
        configs/densenas/subnets/densenas_subnet-demo_1xb32-12e_fmnist.py \
        --lut docs/records/demo_lut_epyc_t1.json \
        --pool docs/records/signal_demo/pool.json.gz \
        --search-seeds 0 1 2 3 --seeds 3 --random 10 --jobs 2 \
        --work-dir work_dirs/search_vs_random_demo

With an extra arm, the same command plus (adding it to a finished run
reuses every finished search and retrain; setting A's full command is in
docs/search_quality.md)::

    --extra-arm uniform_long_warmup=configs/densenas/lab/densenas_supernet-demo-uniform_1xb32-20e_fmnist.py,warmup_epochs=15
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.cli import command_line, one_thread_per_run, run_cli
from densenas_mm.experiments.protocol_args import (add_inputs, add_pool,
                                                   add_runs)
from densenas_mm.experiments.search_vs_random import search_vs_random


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_inputs(p, 10, 'searched net')
    p.add_argument('--search-seeds', type=int, nargs='+',
                   default=[0, 1, 2, 3],
                   help='one search per seed (default %(default)s)')
    p.add_argument('--arch', choices=['last', 'best'], default='last',
                   help="a search's net: last.yaml (default: derived at the "
                   "search's end, as the paper) or best.yaml (best "
                   'supernet validation epoch)')
    p.add_argument('--extra-arm', dest='extra_arms', action='extend',
                   nargs='+', default=[],
                   metavar='NAME=CONFIG[,KEY=VALUE...]',
                   help='an extra searched arm (repeatable): a search '
                   'config and its own config options, searched per search '
                   'seed in <work-dir>/search_<NAME>_s<seed>/ and matched '
                   'to its own latency windows of the pool; NAME a plain '
                   'identifier other than searched, random, rsws, hand')
    add_pool(p)
    p.add_argument('--no-rsws', dest='rsws', action='store_false',
                   help='leave out the RS-WS arm')
    p.add_argument('--rsws-candidates', type=int, default=100,
                   help='RS-WS candidates per searched net (default 100)')
    p.add_argument('--rsws-seed', type=int,
                   help='seed of the RS-WS supernet (default: the first '
                   'search seed)')
    p.add_argument('--rsws-weight-paths', choices=['sampled', 'all'],
                   default='sampled',
                   help='RS-WS weight steps: one uniformly sampled path '
                   "(default) or every path (the search's warm-up)")
    p.add_argument('--recal-batches', type=int, default=20,
                   help='search-train batches of the BN recalibration')
    p.add_argument('--no-hand', dest='hand', action='store_false',
                   help='leave out the hand-designed arm')
    p.add_argument('--hand-head-op', help='head op of the uniform nets')
    p.add_argument('--hand-stack-op', help='stacking op of the uniform nets')
    add_runs(p, 'work_dirs/search_vs_random')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point; returns what results.json holds."""
    args = parse_args(argv)
    one_thread_per_run()  # every worker process runs with one thread
    return search_vs_random(
        **vars(args),
        command=command_line('tools/benchmark/search_vs_random.py', argv))


if __name__ == '__main__':
    sys.exit(run_cli(main))
