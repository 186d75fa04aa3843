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
    return parser.parse_args(argv)


def out_paths(out: str, count: int):
    """``out`` for one architecture, ``<stem>_<k>.yaml`` for several."""
    if count == 1:
        return [out]
    stem = out[:-5] if out.endswith('.yaml') else out
    return [f'{stem}_{k}.yaml' for k in range(count)]


def main(argv=None) -> int:
    """Entry point."""
    args = parse_args(argv)
    import torch

    from densenas_mm.apis.random_arch import (build_search_mutator,
                                              matched_random_archs,
                                              random_arch)
    from densenas_mm.structures import DerivedArch
    mutator = build_search_mutator(args.config)
    gen = torch.Generator().manual_seed(args.seed)
    if args.match:
        if not args.lut:
            raise SystemExit('--match needs --lut')
        from densenas_mm.models.estimators import ChainedLatencyEstimator
        est = ChainedLatencyEstimator(
            lut=args.lut,
            metric='latency',
            target_device=None,
            allow_noisy_lut=args.allow_noisy_lut)
        est.bind(mutator.space)
        target = est.estimate(DerivedArch.load(args.match))['latency']
        picked = matched_random_archs(mutator, est, target, gen, args.count,
                                      args.samples, args.std)
        for lat, arch in picked:
            arch.meta.update(random_seed=args.seed, latency=round(lat, 4),
                             matched_latency=round(target, 4),
                             samples=args.samples)
        print(f'{args.count} random arch(s), closest of {args.samples} by '
              f'LUT latency to the target {target:.3f} ms: ' +
              ', '.join(f'{lat:.3f} ms' for lat, _ in picked))
        archs = [arch for _, arch in picked]
    else:
        archs = [random_arch(mutator, gen, args.std) for _ in
                 range(args.count)]
        for arch in archs:
            arch.meta.update(random_seed=args.seed)
    for arch, path in zip(archs, out_paths(args.out, args.count)):
        arch.meta['note'] = ('random architecture (baseline), not a search '
                             'result')
        arch.dump(path)
        print(f'path {arch.path}, net_config: {arch.to_net_config()}\n'
              f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
