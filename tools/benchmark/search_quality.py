"""Searched vs random architectures at matched latency (and budget sweeps).

Searches once per ``--seeds`` seed, draws ``--random`` random architectures
of the same space within ``--tolerance`` of the searched nets' mean LUT
latency, retrains every net from scratch with the same recipe and evaluates
it; optionally searches with latency budgets (``--targets``) and reports
where the derived latency lands. Writes ``results.json``, ``results.md`` and
``results.png`` (LUT latency vs top-1 and measured latency vs top-1) into
``--work-dir``. What each step runs: ``densenas_mm.experiments.search_quality``.

Example (the numbers in README; about an hour on 2 CPU cores)::

    python tools/benchmark/search_quality.py \
        --lut work_dirs/latency/densenas_demo_32_cpu_b32_t1.json \
        --seeds 0 1 2 --random 8 --targets 4 5 6 --jobs 2 \
        --work-dir work_dirs/search_quality
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import os
import os.path as osp
from typing import List, Optional

DEMO_SEARCH = 'configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py'
DEMO_SUBNET = 'configs/densenas/subnets/densenas_subnet-demo_1xb32-12e_fmnist.py'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--search-config', default=DEMO_SEARCH)
    p.add_argument('--subnet-config', default=DEMO_SUBNET)
    p.add_argument('--lut', required=True, help='latency table (JSON)')
    p.add_argument('--work-dir', default='work_dirs/search_quality')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--random', type=int, default=8,
                   help='random architectures at matched latency')
    p.add_argument('--tolerance', type=float, default=0.05,
                   help='relative LUT-latency window of the random nets')
    p.add_argument('--random-seed', type=int, default=0)
    p.add_argument('--arch', choices=['best', 'last'], default='best',
                   help='which derived architecture of a seed search (the '
                   'budget searches report where they end, last.yaml, and '
                   'best.yaml next to it)')
    p.add_argument('--search-epochs', type=int, help='override max_epochs')
    p.add_argument('--warmup-epochs', type=int,
                   help='override the warm-up epochs')
    p.add_argument('--retrain-epochs', type=int,
                   help='override the subnet max_epochs')
    p.add_argument('--retrain-seed', type=int, nargs='+', default=[0],
                   help='retrain seeds: every net is retrained once per seed '
                   'and scored by its mean top-1 (one retrain moves by '
                   '0.5-0.7 points on the demo, docs/demo.md)')
    p.add_argument('--targets', type=float, nargs='*', default=[],
                   help='latency budgets (ms) of LatencyLoss(target=T)')
    p.add_argument('--budget-weight', type=float, default=None,
                   help='loss_weight of the budget searches')
    p.add_argument('--budget-under-weight', type=float, default=None,
                   help='under_weight of the budget searches (1: a net under '
                   'budget pays as much as one over it; 0: the paper loss)')
    p.add_argument('--reuse', action='store_true',
                   help='skip searches and retrains that finished with the '
                   'same command in an earlier run (their done.json)')
    p.add_argument('--retrain-budget', action='store_true',
                   help='also retrain the budget searches\' nets')
    p.add_argument('--measure', action='store_true',
                   help='measure whole-net latency of every net here')
    p.add_argument('--allow-noisy-lut', action='store_true',
                   help='use a latency table marked noisy (searches and '
                   'baselines warn instead of refusing it)')
    p.add_argument('--jobs', type=int, default=1,
                   help='runs at once (each with one thread)')
    p.add_argument('--search-options', nargs='*', default=[],
                   help='more --cfg-options of every search')
    p.add_argument('--subnet-options', nargs='*', default=[],
                   help='more --cfg-options of every retrain')
    return p.parse_args(argv)


def schedule_options(args: argparse.Namespace) -> List[str]:
    """--cfg-options of the search schedule overrides."""
    opts = list(args.search_options)
    if args.search_epochs:
        opts += [f'train_cfg.max_epochs={args.search_epochs}',
                 f'param_scheduler.architecture.0.T_max={args.search_epochs}']
    if args.warmup_epochs is not None:
        opts += [f'custom_hooks.0.warmup_epochs={args.warmup_epochs}',
                 f'train_cfg.val_begin={args.warmup_epochs + 1}']
    return opts


def retrain_options(args: argparse.Namespace) -> List[str]:
    """--cfg-options of the retrain schedule overrides."""
    opts = list(args.subnet_options)
    if args.retrain_epochs:
        e = args.retrain_epochs
        opts += [f'train_cfg.max_epochs={e}', f'param_scheduler.0.T_max={e}',
                 f'param_scheduler.0.end={e}', f'train_cfg.val_interval={e}',
                 f'default_hooks.checkpoint.interval={e}']
    return opts


def main(argv: Optional[List[str]] = None) -> dict:
    """Entry point; returns the summary."""
    args = parse_args(argv)
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    import torch
    torch.set_num_threads(1)
    from densenas_mm.experiments import search_quality as Q
    wd = osp.abspath(args.work_dir)
    lut = osp.abspath(args.lut)
    if not osp.isfile(lut):
        raise SystemExit(f'no latency table {lut}: build it with '
                         'tools/build_latency_lut.py')
    sopts = schedule_options(args)
    noisy = bool(args.allow_noisy_lut)
    if noisy:
        sopts.append('model.estimator.allow_noisy_lut=True')

    def run_search(seed):
        path = Q.search(args.search_config, osp.join(wd, f'search_s{seed}'),
                        seed, lut, sopts, args.arch, reuse=args.reuse)
        return Q.NetResult(f'searched_s{seed}', 'searched', path,
                           Q.arch_latency(path, lut, noisy), seed=seed)

    def run_budget(target):
        opts = sopts + [f'model.cost_loss.target={target}']
        if args.budget_weight is not None:
            opts.append(f'model.cost_loss.loss_weight={args.budget_weight}')
        if args.budget_under_weight is not None:
            opts.append(
                f'model.cost_loss.under_weight={args.budget_under_weight}')
        seed = args.seeds[0]
        # where the search ends (last.yaml): what a budget is about; the
        # top-1-selected best.yaml is reported next to it
        path = Q.search(args.search_config,
                        osp.join(wd, f'budget_{target:g}'), seed, lut, opts,
                        'last', reuse=args.reuse)
        best = osp.join(osp.dirname(path), 'best.yaml')
        return Q.NetResult(
            f'budget_{target:g}', 'budget', path,
            Q.arch_latency(path, lut, noisy), seed=seed, target=target,
            best_latency=(Q.arch_latency(best, lut, noisy)
                          if osp.isfile(best) else None))

    results = Q.parallel(args.jobs, run_search, args.seeds)
    target = sum(r.lut_latency for r in results) / len(results)
    results += Q.random_baselines(
        args.search_config, lut, target, args.random,
        osp.join(wd, 'random'), args.random_seed, args.tolerance,
        allow_noisy_lut=noisy)
    budgets = Q.parallel(args.jobs, run_budget, args.targets)
    ropts = retrain_options(args)
    to_train = [r for r in results] + (budgets if args.retrain_budget else [])

    seeds = list(args.retrain_seed)

    def run_retrain(job):
        r, seed = job
        # the first seed keeps the work dir of a single-seed run (--reuse)
        name = r.name if seed == seeds[0] else f'{r.name}_seed{seed}'
        metrics = Q.retrain(args.subnet_config, r.arch,
                            osp.join(wd, 'retrain', name), seed, ropts,
                            reuse=args.reuse)
        return float(metrics['accuracy/top1'])

    jobs = [(r, seed) for r in to_train for seed in seeds]
    scores = Q.parallel(args.jobs, run_retrain, jobs)
    for r in to_train:
        r.top1_seeds = [t for (net, _), t in zip(jobs, scores) if net is r]
        r.top1 = float(sum(r.top1_seeds) / len(r.top1_seeds))
    results += budgets
    from densenas_mm.structures import DerivedArch
    for r in results:
        r.path = list(DerivedArch.load(r.arch).path)
    if args.measure:
        Q.measure_latencies(results, lut)
    summary = Q.rank_summary(Q.top1_by_kind(results, 'searched'),
                             Q.top1_by_kind(results, 'random'))
    summary['target_ms'] = target
    summary['budgets'] = [
        dict(target=r.target, achieved=r.lut_latency,
             rel_error=r.lut_latency / r.target - 1,
             achieved_best=r.best_latency) for r in budgets
    ]
    text = Q.format_summary(results, summary)
    for b in summary['budgets']:
        text += (f"budget {b['target']:g} ms -> derived at the end "
                 f"{b['achieved']:.2f} ms ({100 * b['rel_error']:+.1f} %)")
        if b['achieved_best'] is not None:
            text += (f"; best.yaml {b['achieved_best']:.2f} ms "
                     f"({100 * (b['achieved_best'] / b['target'] - 1):+.1f}"
                     ' %)')
        text += '\n'
    from densenas_mm.utils.io import write_text_atomic
    write_text_atomic(text, osp.join(wd, 'results.md'))
    Q.save_results(results, summary, osp.join(wd, 'results.json'),
                   args=vars(args))
    Q.plot_results(results, osp.join(wd, 'results.png'))
    print(text, end='')
    return summary


if __name__ == '__main__':
    main()
