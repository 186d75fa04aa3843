"""Derive a random architecture of a search space (a random-search baseline).

Random alphas and betas (N(0, std)) are set on the search config's
``DenseRoutingMutator`` and the architecture is derived exactly as after a
search (Viterbi path, argmax ops). With ``--lut`` and ``--match`` it draws
``--samples`` such architectures and keeps the ``--count`` distinct ones
whose LUT latency is closest to that of the ``--match`` architecture:
same-budget baselines (``OUT`` for one, ``OUT_0.yaml`` ... for several).

Example:
    python tools/analysis/random_arch.py \
        configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py \
        work_dirs/demo/random.yaml --seed 0 --count 4 \
        --lut work_dirs/latency/densenas_demo_32_cpu_b32_t1.json \
        --match work_dirs/demo/search/arch/last.yaml
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys

from densenas_mm.apis.cli import run_cli
from densenas_mm.apis.random_arch import write_random_archs


def parse_args(argv=None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='DenseNAS search config')
    parser.add_argument('out', help='architecture YAML to write')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--std', type=float, default=3.0,
                        help='std of the random logits (default 3)')
    parser.add_argument('--lut', help='latency table (for --match)')
    parser.add_argument('--match', help='architecture YAML whose LUT latency '
                        'the random one should match')
    parser.add_argument('--samples', type=int, default=200,
                        help='random architectures drawn for --match')
    parser.add_argument('--count', type=int, default=1,
                        help='how many matched architectures to write')
    parser.add_argument('--allow-noisy-lut', action='store_true',
                        help='use a latency table marked noisy (warns)')
    args = parser.parse_args(argv)
    if args.match and not args.lut:
        raise SystemExit('--match needs --lut')
    return args


def main(argv=None) -> int:
    """Entry point."""
    args = parse_args(argv)
    print(write_random_archs(**vars(args)))
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
