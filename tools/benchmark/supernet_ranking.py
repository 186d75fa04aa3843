"""Supernet ranking: does the supernet rank nets as retraining does?

Scores every net of a finished signal check (``--signal``: its work dir or
records folder, ``signal.json`` + ``archs/``) with a search checkpoint's
supernet of the same space: top-1 and loss on the search's validation split
(search-val) with the net's choices fixed and the inherited weights, BN
statistics recalibrated on ``--bn-batches`` search-train batches (and, to
show what that changes, inherited as they are and per-batch), and the path's
log-probability under alpha / beta. Reports Kendall's tau and Spearman's rho
of each score vs the net's mean retrained top-1 with bootstrap CIs over
nets, next to the seed-vs-seed ceiling of the same retrains. Writes
``ranking.json``, ``ranking.md`` and ``ranking.png`` into ``--out-dir``.
What it runs: ``densenas_mm.experiments.supernet_ranking``.

Example (the demo, docs/search_quality.md)::

    python tools/benchmark/supernet_ranking.py \
        configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py \
        work_dirs/rank_demo/search/epoch_20.pth \
        --signal docs/records/signal_demo --out-dir work_dirs/ranking_demo
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.cli import add_cfg_options, run_cli
from densenas_mm.experiments.supernet_ranking import supernet_ranking


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='search config (its supernet and loaders)')
    p.add_argument('checkpoint', help='search checkpoint of that config')
    p.add_argument('--signal', required=True,
                   help='signal check work dir or records folder')
    p.add_argument('--bn-batches', type=int, default=20,
                   help='search-train batches of the BN recalibration '
                   '(default 20)')
    p.add_argument('--bootstrap-reps', type=int, default=2000,
                   help='bootstrap resamples of the nets (default 2000)')
    p.add_argument('--out-dir', default='work_dirs/supernet_ranking')
    add_cfg_options(p)
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point; returns what ranking.json holds."""
    args = parse_args(argv)
    return supernet_ranking(
        args.config, args.checkpoint, args.signal,
        bn_batches=args.bn_batches, out_dir=args.out_dir,
        bootstrap_reps=args.bootstrap_reps, cfg_options=args.cfg_options)


if __name__ == '__main__':
    sys.exit(run_cli(main))
