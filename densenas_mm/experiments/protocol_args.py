"""Command-line arguments the retrain-protocol tools share.

``tools/benchmark/signal_check.py``, ``tools/benchmark/search_vs_random.py``
and ``tools/benchmark/budget_front.py`` take the same inputs for what they
have in common: the configs, the table and the retrain seeds
(:func:`add_retrains`), the random pool (:func:`add_pool`), the latency
windows and the searches of the two comparisons (:func:`add_inputs`), the
run settings (:func:`add_runs`). Each tool adds its own arms' arguments
between them. The names are the keyword arguments of the experiment
functions.
"""
import argparse

from .runs import SEED_LIST


def add_retrains(p: argparse.ArgumentParser) -> None:
    """The search config (its space), ``--subnet-config``, ``--lut`` and
    the retrain seeds and options."""
    p.add_argument('config', help='search config (its space)')
    p.add_argument('--subnet-config', required=True, help='retrain config')
    p.add_argument('--lut', required=True,
                   help='latency table (JSON; calibrated where it carries '
                   'a calibration)')
    p.add_argument('--seeds', type=int, default=3,
                   help='retrain seeds of every net: the first S of the '
                   'seed list (default 3)')
    p.add_argument('--seed-list', type=int, nargs='+',
                   default=list(SEED_LIST),
                   help='the shared retrain seed list (default %(default)s)')
    p.add_argument('--retrain-epochs', type=int,
                   help='override the subnet max_epochs')
    p.add_argument('--subnet-options', nargs='*', default=[],
                   help='more --cfg-options of every retrain')


def add_pool(p: argparse.ArgumentParser) -> None:
    """``--pool`` (drawn when missing) with its seed and draws, and
    ``--latency-key``."""
    p.add_argument('--pool', help='pool file of random nets (default '
                   '<work-dir>/pool.json.gz; drawn when missing; the '
                   "signal check's pool can be reused)")
    p.add_argument('--pool-seed', type=int, default=0)
    p.add_argument('--pool-draws', type=int, default=5000)
    p.add_argument('--latency-key', default='latency',
                   help="the estimator's number nets are matched on")


def add_inputs(p: argparse.ArgumentParser, n_random: int,
               per: str) -> None:
    """:func:`add_retrains`, the random nets with their latency windows and
    the search overrides of a comparison.

    Args:
        p (ArgumentParser): The tool's parser.
        n_random (int): Default of ``--random``.
        per (str): What the random nets are matched to (help text).
    """
    add_retrains(p)
    p.add_argument('--random', dest='n_random', type=int, default=n_random,
                   help=f'random nets per {per} (default {n_random})')
    p.add_argument('--tolerance', type=float, default=0.01,
                   help='relative latency window (default 0.01)')
    p.add_argument('--max-tolerance', type=float, default=0.05,
                   help='widest window when the first holds too few nets '
                   '(stepwise: 1x, 2x, ... the tolerance; default 0.05)')
    p.add_argument('--search-epochs', type=int, help='override max_epochs')
    p.add_argument('--warmup-epochs', type=int,
                   help='override the warm-up epochs')
    p.add_argument('--search-options', nargs='*', default=[],
                   help='more --cfg-options of every search (and supernet)')


def add_runs(p: argparse.ArgumentParser, work_dir: str,
             measure: bool = True) -> None:
    """``--jobs``, ``--measure`` (when ``measure``), ``--bootstrap-reps``,
    ``--finished-only``, ``--allow-noisy-lut`` and ``--work-dir`` (default
    ``work_dir``)."""
    p.add_argument('--jobs', type=int, default=2,
                   help='runs at once (each with one thread)')
    if measure:
        p.add_argument('--measure', action='store_true',
                       help="measure every net's whole-net latency here")
    p.add_argument('--bootstrap-reps', type=int, default=2000)
    p.add_argument('--finished-only', action='store_true',
                   help='start no run: report the runs finished so far')
    p.add_argument('--allow-noisy-lut', action='store_true',
                   help='use a latency table marked noisy')
    p.add_argument('--work-dir', default=work_dir)


__all__ = ['add_retrains', 'add_pool', 'add_inputs', 'add_runs']
