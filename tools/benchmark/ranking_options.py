"""Search options beyond the paper, measured by the supernet ranking.

Runs one search per option (a search config with its own options,
``--option NAME=CONFIG[,KEY=VALUE...]``; default: the demo search and the
three ``configs/densenas/lab/`` options, the uniform one with
``warmup_epochs=15``)
and search seed with one latency table, then ranks every search's supernet
on the nets of a finished signal check (``--signal``) as
``tools/benchmark/supernet_ranking.py`` does, and reports Kendall's tau per
option and seed with CIs, the mean over seeds, the retrains' ceiling, the
derived and selected nets and the CPU-hours (``options.json`` /
``options.md`` in ``--work-dir``). Finished searches are reused, so the
command resumes. What it runs: ``densenas_mm.experiments.ranking_options``.

Example (docs/search_quality.md, "Beyond the paper")::

    python tools/benchmark/ranking_options.py \
        --signal docs/records/signal_a \
        --lut docs/records/demo_lut_epyc_t1_cal_idle.json \
        --search-seeds 0 1 --jobs 2 --work-dir work_dirs/ranking_options
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.cli import one_thread_per_run, run_cli
from densenas_mm.experiments.ranking_options import (DEFAULT_OPTIONS,
                                                     ranking_options)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--signal', required=True,
                   help='finished signal check: work dir or records folder')
    p.add_argument('--lut', required=True,
                   help='latency table of every search (JSON)')
    p.add_argument('--option', nargs='+',
                   metavar='NAME=CONFIG[,KEY=VALUE...]',
                   help='options to compare (default: ' +
                   ', '.join(DEFAULT_OPTIONS) + ')')
    p.add_argument('--search-seeds', nargs='+', type=int, default=[0, 1],
                   help='one search per option and seed (default 0 1)')
    p.add_argument('--jobs', type=int, default=1,
                   help='searches at once (each with one thread)')
    p.add_argument('--bn-batches', type=int, default=20,
                   help='search-train batches of the BN recalibration')
    p.add_argument('--bootstrap-reps', type=int, default=2000)
    p.add_argument('--search-options', nargs='+', default=[],
                   metavar='KEY=VALUE',
                   help='more --cfg-options of every search (and of the '
                   'supernet the ranking builds)')
    p.add_argument('--work-dir', default='work_dirs/ranking_options')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point; returns what options.json holds."""
    args = parse_args(argv)
    one_thread_per_run()
    return ranking_options(
        args.signal, args.lut, args.option,
        search_seeds=args.search_seeds, jobs=args.jobs,
        bn_batches=args.bn_batches, bootstrap_reps=args.bootstrap_reps,
        search_options=args.search_options, work_dir=args.work_dir)


if __name__ == '__main__':
    sys.exit(run_cli(main))
