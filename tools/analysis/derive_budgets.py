"""Derive the most probable net under each cost budget from one search.

From a search checkpoint's alpha / beta and a cost table (the config's
latency table, ``--lut``, or FLOPs / params with ``--metric``): for every
budget the architecture of highest joint log-probability (its path under
beta plus its ops under alpha) whose predicted cost (the chained path cost
of the search) is at most the budget, found exactly by dynamic programming
over Pareto sets; and the whole front, every Pareto-optimal net. Writes one
architecture YAML per budget (``best.yaml``'s format: give it to a subnet
config as ``model.backbone.arch``), ``front.csv``, ``budgets.csv``,
``front.json`` and ``front.png``. With ``--window W`` a budget's net is the
most probable one costing between ``(1 - W) x budget`` and the budget (it
spends the budget; the most probable net under a budget can be far cheaper),
found by the same programme over cost cells.

Examples:
    python tools/analysis/derive_budgets.py \
        configs/densenas/densenas_supernet-mbv2_4xb88-150e_in100.py \
        work_dirs/densenas_supernet-mbv2_4xb88-150e_in100/epoch_150.pth \
        --budgets 18 22 26 --front 5 --out-dir work_dirs/budgets
    python tools/analysis/derive_budgets.py \
        configs/densenas/densenas_supernet-resnet-r1_4xb128-70e_in100.py \
        SEARCH.pth --metric flops --budgets 1000 1500 --out-dir budgets
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.budgets import derive_budgets
from densenas_mm.apis.cli import emit, run_cli


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='the search config')
    parser.add_argument('search_ckpt', help='a checkpoint of that search')
    parser.add_argument('--budgets', type=float, nargs='+',
                        help='cost budgets (ms, MFLOPs or M params)')
    parser.add_argument('--front', type=int, metavar='N',
                        help='also N budgets evenly spaced from the '
                        'cheapest to the costliest Pareto-optimal net')
    parser.add_argument('--lut', help="latency table (default the config's)")
    parser.add_argument('--metric', choices=['latency', 'flops', 'params'],
                        help="the cost (default the config's)")
    parser.add_argument('--resolution', type=float,
                        help='prune the front at this cost resolution, '
                        'rounded up (smaller fronts, may miss nets; '
                        'default exact)')
    parser.add_argument('--window', type=float, default=0.0, metavar='W',
                        help='the most probable net costing between (1 - W) '
                        'x budget and the budget (spends the budget; falls '
                        'back to the most probable net under it when none '
                        'lies there; default 0: no lower bound)')
    parser.add_argument('--allow-noisy-lut', action='store_true',
                        help='use a latency table marked noisy (warns)')
    parser.add_argument('--out-dir', default='.', help='where files go')
    args = parser.parse_args(argv)
    if not args.budgets and not args.front:
        parser.error('give --budgets and/or --front N')
    if args.front is not None and args.front < 1:
        parser.error('--front takes N >= 1')
    if not 0 <= args.window < 1:
        parser.error(f'--window takes W in [0, 1), got {args.window}')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    return run_cli(lambda: emit(derive_budgets(**vars(args))))


if __name__ == '__main__':
    sys.exit(main())
