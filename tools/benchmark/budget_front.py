"""One search, many budgets: does it pay? (issue 23 item 4).

For each of the ``--budgets`` (3 or more, ms), three arms: the **front**
net derived for that budget from the checkpoint of **one** search
(``tools/analysis/derive_budgets.py``'s derivation with ``--window``, same
table), ``--random`` nets of the shared ``--pool`` matched to that front
net's own predicted latency (within ``--tolerance``, widened stepwise up to
``--max-tolerance``), and a separate **budget search** with
``model.cost_loss.target=T`` and the same seed (its ``arch/budget.yaml``).
Every net is retrained with the first ``--seeds`` seeds of ``--seed-list``
(once per seed, whatever its roles) and tested; the report gives per
budget where the latency lands (predicted, and measured with
``--measure``), each arm's mean top-1 with its 95 % CI, front minus random
and front minus budget search with CIs, the front net's percentile among
its random nets, and the CPU-hours of the one search + derivation against
the budget searches. ``--search-dir`` derives from a finished search (e.g.
``search_s0`` of a searched-vs-random work dir) instead of running one.
Resumable: a second call reuses every finished search and retrain;
``--finished-only`` reports what has finished without starting anything.
Writes ``budget_front.json``, ``budget_front.md``, ``budget_front.png`` and
the derivation's files (``front/``) into ``--work-dir``. What it runs:
``densenas_mm.experiments.budget_front_check``.

Example (docs/search_quality.md, "One search, many budgets: does it
pay?")::

    python tools/benchmark/budget_front.py \
        configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py \
        --subnet-config \
        configs/densenas/subnets/densenas_subnet-demo_1xb32-12e_fmnist10k.py \
        --lut docs/records/demo_lut_epyc_t1_cal_idle.json \
        --pool docs/records/signal_a/pool.json.gz \
        --budgets 5.5 6.5 7.5 --search-seed 0 --seeds 3 --random 5 \
        --jobs 2 --work-dir work_dirs/budget_front_a
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.cli import command_line, one_thread_per_run, run_cli
from densenas_mm.apis.latency_budget import BUDGET_WINDOW
from densenas_mm.experiments.budget_front_check import budget_front
from densenas_mm.experiments.protocol_args import add_inputs, add_runs


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_inputs(p, 5, 'budget')
    p.add_argument('--pool', required=True,
                   help='the shared pool of random nets (an existing file, '
                   "e.g. the signal check's pool.json.gz)")
    p.add_argument('--budgets', type=float, nargs='+', required=True,
                   help='latency budgets in ms (3 or more for a front)')
    p.add_argument('--search-seed', type=int, default=0,
                   help='seed of the one search and of the budget searches')
    p.add_argument('--search-dir',
                   help='derive from this finished search instead of '
                   'running one (e.g. <protocol work dir>/search_s0)')
    p.add_argument('--window', type=float, default=BUDGET_WINDOW,
                   metavar='W',
                   help='a front net and a budget search net are the most '
                   'probable nets costing between (1 - W) x budget and the '
                   'budget (default %(default)s, the budget searches\' '
                   'default)')
    p.add_argument('--budget-options', nargs='*', default=[],
                   help='more --cfg-options of the budget searches only '
                   '(e.g. model.cost_loss.loss_weight=3)')
    add_runs(p, 'work_dirs/budget_front')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point; returns what budget_front.json holds."""
    args = parse_args(argv)
    one_thread_per_run()  # every worker process runs with one thread
    return budget_front(
        **vars(args),
        command=command_line('tools/benchmark/budget_front.py', argv))


if __name__ == '__main__':
    sys.exit(run_cli(main))
