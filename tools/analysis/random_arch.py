"""Derive a random architecture of a search space (a random-search baseline).

Random alphas and betas (N(0, std)) are set on the search config's
``DenseRoutingMutator`` and the architecture is derived exactly as after a
search (Viterbi path, argmax ops). With ``--lut`` and ``--match`` it draws
``--samples`` such architectures and keeps the one whose LUT latency is
closest to that of the ``--match`` architecture: a same-budget baseline.

Example:
    python tools/analysis/random_arch.py \
        configs/densenas/densenas_supernet-demo_1xb32-20e_digits.py \
        work_dirs/demo/random.yaml --seed 0 \
        --lut work_dirs/latency/densenas_demo_32_cpu_b32_t1.json \
        --match work_dirs/demo/search/arch/last.yaml
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys


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
    parser.add_argument('--samples', type=int, default=200)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Entry point."""
    args = parse_args(argv)
    import torch

    from densenas_mm.apis.random_arch import (build_search_mutator,
                                              matched_random_arch,
                                              random_arch)
    from densenas_mm.structures import DerivedArch
    mutator = build_search_mutator(args.config)
    gen = torch.Generator().manual_seed(args.seed)
    if args.match:
        if not args.lut:
            raise SystemExit('--match needs --lut')
        from densenas_mm.models.estimators import ChainedLatencyEstimator
        est = ChainedLatencyEstimator(lut=args.lut, metric='latency',
                                      target_device=None)
        est.bind(mutator.space)
        target = est.estimate(DerivedArch.load(args.match))['latency']
        lat, arch = matched_random_arch(mutator, est, target, gen, args.std,
                                        args.samples)
        arch.meta.update(random_seed=args.seed, latency=round(lat, 4),
                         matched_latency=round(target, 4),
                         samples=args.samples)
        print(f'random arch (best of {args.samples} by LUT latency): '
              f'{lat:.3f} ms vs target {target:.3f} ms; path {arch.path}')
    else:
        arch = random_arch(mutator, gen, args.std)
        arch.meta.update(random_seed=args.seed)
        print(f'random arch: path {arch.path}')
    arch.meta['note'] = 'random architecture (baseline), not a search result'
    arch.dump(args.out)
    print(f'net_config: {arch.to_net_config()}\nwrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
