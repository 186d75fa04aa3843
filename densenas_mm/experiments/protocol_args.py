"""Command-line arguments the retrain-protocol tools share.

``tools/benchmark/search_vs_random.py`` and
``tools/benchmark/budget_front.py`` take the same inputs for what they
have in common (the configs and the table, the retrain seeds, the latency
windows of the random nets, the schedules, the run settings); each adds
its own arms' arguments between :func:`add_inputs` and :func:`add_runs`.
The names are the keyword arguments of the experiment functions.
"""
import argparse

from .signal_check import SEED_LIST


def add_inputs(p: argparse.ArgumentParser, n_random: int,
               per: str) -> None:
    """The search config, ``--subnet-config``, ``--lut``, the retrain seeds
    and the random nets with their latency windows.

    Args:
        p (ArgumentParser): The tool's parser.
        n_random (int): Default of ``--random``.
        per (str): What the random nets are matched to (help text).
    """
    p.add_argument('config', help='search config')
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
    p.add_argument('--retrain-epochs', type=int,
                   help='override the subnet max_epochs')
    p.add_argument('--subnet-options', nargs='*', default=[],
                   help='more --cfg-options of every retrain')


def add_runs(p: argparse.ArgumentParser, work_dir: str) -> None:
    """``--jobs``, ``--measure``, ``--bootstrap-reps``, ``--finished-only``,
    ``--allow-noisy-lut`` and ``--work-dir`` (default ``work_dir``)."""
    p.add_argument('--jobs', type=int, default=2,
                   help='runs at once (each with one thread)')
    p.add_argument('--measure', action='store_true',
                   help="measure every net's whole-net latency here")
    p.add_argument('--bootstrap-reps', type=int, default=2000)
    p.add_argument('--finished-only', action='store_true',
                   help='start no run: report the runs finished so far')
    p.add_argument('--allow-noisy-lut', action='store_true',
                   help='use a latency table marked noisy')
    p.add_argument('--work-dir', default=work_dir)


__all__ = ['add_inputs', 'add_runs']
