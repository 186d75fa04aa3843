"""Does a rerun of the searched-vs-random protocol agree with the first run?

Takes two ``results.json`` of ``tools/benchmark/search_vs_random.py`` (or
their work dirs), one setting, different seeds, and reports per arm each
run's difference of means (arm minus latency-matched random nets), the
change between them and its hierarchical bootstrap 95 % CI. Exit 0 when
every change's CI holds 0 (the rerun agrees), 1 when one does not. What it
runs: ``densenas_mm.experiments.rerun_check``.

Example (docs/search_quality.md, "Rerunning with other seeds")::

    python tools/analysis/protocol_rerun.py \
        work_dirs/search_vs_random_a work_dirs/search_vs_random_a_rerun \
        --json work_dirs/rerun_agreement.json
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import List, Optional

from densenas_mm.apis.cli import emit, run_cli
from densenas_mm.experiments.rerun_check import rerun_agreement


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('first', help="the documented run's results.json (or its "
                   'work dir)')
    p.add_argument('second', help="the rerun's results.json (or work dir)")
    p.add_argument('--arms', nargs='+',
                   help='arms to compare (default: every arm both runs '
                   'have with finished nets)')
    p.add_argument('--bootstrap-reps', type=int, default=2000)
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the bootstrap (default 0)')
    p.add_argument('--json', help='write the report here')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; the exit status says whether the rerun agrees."""
    return emit(rerun_agreement(**vars(parse_args(argv))))


if __name__ == '__main__':
    sys.exit(run_cli(main))
