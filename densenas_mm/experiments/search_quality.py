"""Does the search beat guessing? Searched nets against random nets.

The comparison the DenseNAS paper makes (its Table 4: random search in the
same space at a matched budget), run with this project's tools:

1. search with the search config for each seed
   (:func:`densenas_mm.apis.launch.run_train`, what ``tools/train.py``
   runs) and take the derived architecture (``arch/best.yaml`` or
   ``last.yaml``);
2. draw random architectures of the same space (random alphas/betas,
   derived as after a search, ``densenas_mm.apis.random_arch``) whose LUT
   latency lies within ``tolerance`` of the searched nets' mean;
3. retrain every net from scratch with the same recipe and seed
   (``run_train`` with the subnet config) and evaluate it (``run_test``);
4. summarise: top-1 of the searched nets, mean / spread of the random
   nets, the searched nets' ranks among them; optionally a sweep over
   latency budgets (``LatencyLoss(target=T)``) that reports where the
   derived latency lands.

Every search, retrain and test runs in its own worker process
(:mod:`.workers`: mmengine's process-wide state), logged under the work dir,
resumable with ``reuse``; results are JSON, every file written atomically.
:func:`compare` runs the whole protocol (the command line:
``tools/benchmark/search_quality.py``).
"""
import json
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from densenas_mm.apis.cli import parse_cfg_options
from densenas_mm.apis.launch import run_test, run_train
from densenas_mm.utils.resume import read_last_checkpoint
from densenas_mm.utils.io import dump_json_atomic, write_text_atomic
from .paths import repo_path
from .workers import parallel, run_job

#: The demo's search and subnet configs (the defaults of :func:`compare`).
DEMO_SEARCH = repo_path('configs', 'densenas',
                        'densenas_supernet-demo_1xb32-20e_fmnist.py')
DEMO_SUBNET = repo_path('configs', 'densenas', 'subnets',
                        'densenas_subnet-demo_1xb32-12e_fmnist.py')


@dataclass
class NetResult:
    """One retrained net.

    Attributes:
        name (str): ``searched_s<seed>``, ``random_<k>`` or ``budget_<T>``.
        kind (str): ``'searched'``, ``'random'`` or ``'budget'``.
        arch (str): The architecture YAML.
        lut_latency (float): LUT-predicted latency in ms.
        top1 (float, optional): Test top-1 after retraining, the mean over
            the retrain seeds (None when the net was not retrained).
        seed (int, optional): Search seed (searched / budget nets).
        target (float, optional): The latency budget of a budget search.
        path (list[int]): The block path.
        measured_latency (float, optional): Measured whole-net latency in ms.
        best_latency (float, optional): A budget search's ``best.yaml`` LUT
            latency (its ``arch`` is the most probable net within the
            budget where it ended, ``budget.yaml``).
        top1_seeds (list[float]): Top-1 of each retrain seed.
    """
    name: str
    kind: str
    arch: str
    lut_latency: float
    top1: Optional[float] = None
    seed: Optional[int] = None
    target: Optional[float] = None
    path: List[int] = field(default_factory=list)
    measured_latency: Optional[float] = None
    best_latency: Optional[float] = None
    top1_seeds: List[float] = field(default_factory=list)


def loader_options(names: Sequence[str]) -> List[str]:
    """Config options that load data in-process (``num_workers=0``)."""
    out = []
    for name in names:
        out += [f'{name}.num_workers=0', f'{name}.persistent_workers=False']
    return out


SEARCH_LOADERS = ('train_dataloader', 'train_cfg.arch_dataloader',
                  'val_dataloader')
SUBNET_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def search(config: str, work_dir: str, seed: int, lut: str,
           options: Sequence[str] = (), arch: str = 'best',
           reuse: bool = False) -> str:
    """One search; returns its derived architecture YAML (``arch/<arch>``;
    ``options``: more ``key=value`` config options; ``reuse``: see
    :func:`~.workers.run_job`)."""
    run_job('train', run_train, dict(
        config=config, work_dir=work_dir, cfg_options=parse_cfg_options([
            f'randomness.seed={seed}', f'model.sample_seed={seed}',
            f'model.estimator.lut={lut}', *loader_options(SEARCH_LOADERS),
            *options])), osp.join(work_dir, 'search.log'), reuse=reuse)
    path = osp.join(work_dir, 'arch', f'{arch}.yaml')
    if not osp.isfile(path):
        raise RuntimeError(f'the search wrote no {path}')
    return path


def retrain(config: str, arch: str, work_dir: str, seed: int = 0,
            options: Sequence[str] = (),
            reuse: bool = False) -> Dict[str, float]:
    """Retrain ``arch`` from scratch with ``config``; test metrics
    (``reuse``: see :func:`~.workers.run_job`)."""
    common = parse_cfg_options([
        f'model.backbone.arch={arch}', f'randomness.seed={seed}',
        *loader_options(SUBNET_LOADERS), *options])
    run_job('train', run_train,
            dict(config=config, work_dir=work_dir, cfg_options=common),
            osp.join(work_dir, 'train.log'), reuse=reuse)
    ckpt = read_last_checkpoint(work_dir)
    out = osp.join(work_dir, 'metrics.json')
    run_job('test', run_test,
            dict(config=config, checkpoint=ckpt, work_dir=work_dir, out=out,
                 cfg_options=common),
            osp.join(work_dir, 'test.log'), reuse=reuse)
    with open(out, encoding='utf-8') as f:
        return json.load(f)


def random_baselines(config: str, lut: str, target: float, count: int,
                     out_dir: str, seed: int = 0, tolerance: float = 0.05,
                     draws: int = 5000,
                     allow_noisy_lut: bool = False) -> List[NetResult]:
    """``count`` distinct random architectures closest to ``target``
    (LUT ms), written as YAML files into ``out_dir``.

    Raises:
        RuntimeError: If the ``count``-th is farther than ``tolerance``
            (relative) from the target.
    """
    import torch

    from densenas_mm.apis.random_arch import (build_search_mutator,
                                              matched_random_archs)
    from densenas_mm.models.estimators import ChainedLatencyEstimator
    mutator = build_search_mutator(config)
    est = ChainedLatencyEstimator(
        lut=lut, target_device=None, allow_noisy_lut=allow_noisy_lut)
    est.bind(mutator.space)
    picked = matched_random_archs(mutator, est, target,
                                  torch.Generator().manual_seed(seed), count,
                                  draws)
    worst = abs(picked[-1][0] / target - 1)
    if worst > tolerance:
        raise RuntimeError(
            f'only {sum(abs(c / target - 1) <= tolerance for c, _ in picked)}'
            f' of {count} random architectures lie within {tolerance:.0%} '
            f'of {target:.3f} ms ({draws} draws); raise --tolerance or lower'
            ' --random')
    results = []
    for k, (lat, arch) in enumerate(picked):
        name = f'random_{k}'
        path = osp.join(out_dir, f'{name}.yaml')
        arch.meta.update(random_seed=seed, latency=round(lat, 4),
                         matched_latency=round(target, 4))
        arch.dump(path)
        results.append(NetResult(name, 'random', path, lat,
                                 path=list(arch.path)))
    return results


def arch_latency(arch: str, lut: str, allow_noisy_lut: bool = False) -> float:
    """LUT latency (ms) of an architecture YAML."""
    from densenas_mm.models.estimators import ChainedLatencyEstimator
    from densenas_mm.structures import DerivedArch
    est = ChainedLatencyEstimator(
        lut=lut, target_device=None, allow_noisy_lut=allow_noisy_lut)
    return float(est.estimate(DerivedArch.load(arch))['latency'])


def rank_summary(searched: Sequence[float],
                 random: Sequence[float]) -> Dict[str, Any]:
    """Searched vs random top-1: means, spreads and ranks.

    A searched net's rank is 1 + the number of random nets with a strictly
    higher top-1 (1 = at least as good as every random net).

    Args:
        searched (Sequence[float]): Top-1 of the searched nets.
        random (Sequence[float]): Top-1 of the random nets.
    """
    searched, rand = list(searched), list(random)
    out: Dict[str, Any] = dict(
        searched=searched,
        random=rand,
        random_mean=float(np.mean(rand)) if rand else None,
        random_std=float(np.std(rand, ddof=1)) if len(rand) > 1 else None,
        random_min=min(rand) if rand else None,
        random_max=max(rand) if rand else None)
    if searched:
        out['searched_mean'] = float(np.mean(searched))
        out['searched_std'] = (float(np.std(searched, ddof=1))
                               if len(searched) > 1 else None)
        out['ranks'] = [1 + sum(t > s for t in rand) for s in searched]
        out['of'] = len(rand) + 1
    return out


def top1_by_kind(results: Sequence[NetResult], kind: str) -> List[float]:
    """Top-1 of the retrained nets of one kind."""
    return [r.top1 for r in results if r.kind == kind and r.top1 is not None]


def format_summary(results: Sequence[NetResult],
                   summary: Dict[str, Any]) -> str:
    """A markdown table of the nets and a line with the comparison."""
    lines = [
        '| net | path | LUT ms | measured ms | top-1 |',
        '|---|---|---|---|---|',
    ]
    for r in results:
        meas = ('-' if r.measured_latency is None else
                f'{r.measured_latency:.2f}')
        top1 = '-' if r.top1 is None else f'{r.top1:.2f}'
        if len(r.top1_seeds) > 1:
            top1 += ' (' + ' / '.join(f'{t:.2f}' for t in r.top1_seeds) + ')'
        lines.append(f'| {r.name} | {r.path} | {r.lut_latency:.2f} | '
                     f'{meas} | {top1} |')
    if summary.get('random_mean') is not None and summary.get('searched'):
        std = summary['random_std'] or 0.0
        lines += [
            '',
            f"searched top-1 {', '.join(f'{t:.2f}' for t in summary['searched'])}"
            f" (ranks {summary['ranks']} of {summary['of']}); random "
            f"{summary['random_mean']:.2f} +- {std:.2f} (min "
            f"{summary['random_min']:.2f}, max {summary['random_max']:.2f}, "
            f'n={len(summary["random"])})'
        ]
    return '\n'.join(lines) + '\n'


def plot_results(results: Sequence[NetResult], path: str) -> None:
    """Write :func:`results_figure` as a PNG to ``path``."""
    from densenas_mm.visualization import save_figure
    save_figure(results_figure(results), path)


def results_figure(results: Sequence[NetResult]):
    """LUT latency vs top-1 and measured latency vs top-1, searched vs
    random (vs budget searches); the legend below the panels."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    styles = dict(
        random=dict(c='#7f7f7f', marker='o', label='random (matched LUT)'),
        searched=dict(c='#d62728', marker='*', s=140, label='searched'),
        budget=dict(c='#1f77b4', marker='^', label='budget searches'))
    for ax, key, name in ((axes[0], 'lut_latency', 'LUT latency (ms)'),
                          (axes[1], 'measured_latency',
                           'measured latency (ms)')):
        for kind, style in styles.items():
            pts = [(getattr(r, key), r.top1) for r in results
                   if r.kind == kind and r.top1 is not None
                   and getattr(r, key) is not None]
            if pts:
                xs, ys = zip(*pts)
                ax.scatter(xs, ys, **style)
        ax.set_xlabel(name)
        ax.set_ylabel('test top-1 (%)')
        ax.grid(alpha=0.3)
    # one legend below both panels: inside an axes it can cover a point
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc='lower center', ncol=len(handles),
                   fontsize=8, frameon=False)
    fig.suptitle('searched vs random architectures, same retraining recipe',
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def measure_latencies(results: Sequence[NetResult], lut: str,
                      **timing: Any) -> None:
    """Fill ``measured_latency`` with the whole-net row of the audit."""
    from densenas_mm.apis.latency_audit import audit_arch
    from densenas_mm.latency import LatencyTable
    from densenas_mm.structures import DerivedArch
    table = LatencyTable.load(lut)
    for r in results:
        rows = audit_arch(DerivedArch.load(r.arch), table, **timing)
        r.measured_latency = [x for x in rows
                              if x.name == 'whole net'][0].measured


def save_results(results: Sequence[NetResult], summary: Dict[str, Any],
                 path: str, **extra: Any) -> None:
    """Everything as one JSON file."""
    dump_json_atomic(
        dict(nets=[asdict(r) for r in results], summary=summary, **extra),
        path)


def schedule_options(search_options: Sequence[str] = (),
                     search_epochs: Optional[int] = None,
                     warmup_epochs: Optional[int] = None) -> List[str]:
    """Config options of a search with its schedule overridden."""
    opts = list(search_options)
    if search_epochs:
        opts += [f'train_cfg.max_epochs={search_epochs}',
                 f'param_scheduler.architecture.0.T_max={search_epochs}']
    if warmup_epochs is not None:
        opts += [f'custom_hooks.0.warmup_epochs={warmup_epochs}',
                 f'train_cfg.val_begin={warmup_epochs + 1}']
    return opts


def retrain_options(subnet_options: Sequence[str] = (),
                    retrain_epochs: Optional[int] = None) -> List[str]:
    """Config options of a retrain with its schedule overridden."""
    opts = list(subnet_options)
    if retrain_epochs:
        e = retrain_epochs
        opts += [f'train_cfg.max_epochs={e}', f'param_scheduler.0.T_max={e}',
                 f'param_scheduler.0.end={e}', f'train_cfg.val_interval={e}',
                 f'default_hooks.checkpoint.interval={e}']
    return opts


def budget_text(budgets: Sequence[Dict[str, Any]]) -> str:
    """One line per budget search: where its derived latency lands,
    predicted (the table's, calibrated when it is) and, with ``measure``,
    measured end to end."""
    text = ''
    for b in budgets:
        text += (f"budget {b['target']:g}: derived {b['achieved']:.2f} ms "
                 f"predicted ({100 * b['rel_error']:+.1f} %)")
        if b.get('measured') is not None:
            text += (f", {b['measured']:.2f} ms measured "
                     f"({100 * (b['measured'] / b['target'] - 1):+.1f} %)")
        text += ' at the end of the search'
        if b['achieved_best'] is not None:
            text += (f"; best.yaml {b['achieved_best']:.2f} ms "
                     f"({100 * (b['achieved_best'] / b['target'] - 1):+.1f}"
                     ' %)')
        text += '\n'
    return text


def compare(lut: str,
            *,
            search_config: str = DEMO_SEARCH,
            subnet_config: str = DEMO_SUBNET,
            work_dir: str = 'work_dirs/search_quality',
            seeds: Sequence[int] = (0, 1, 2),
            random: int = 8,
            tolerance: float = 0.05,
            random_seed: int = 0,
            arch: str = 'best',
            search_epochs: Optional[int] = None,
            warmup_epochs: Optional[int] = None,
            retrain_epochs: Optional[int] = None,
            retrain_seed: Sequence[int] = (0, ),
            targets: Sequence[float] = (),
            budget_weight: Optional[float] = None,
            budget_under_weight: Optional[float] = None,
            reuse: bool = False,
            retrain_budget: bool = False,
            measure: bool = False,
            allow_noisy_lut: bool = False,
            jobs: int = 1,
            search_options: Sequence[str] = (),
            subnet_options: Sequence[str] = ()) -> Dict[str, Any]:
    """Searched vs random architectures at matched latency (the protocol of
    this module), written to ``work_dir`` as ``results.json``,
    ``results.md`` and ``results.png``.

    Args:
        lut (str): The latency table (JSON) of searches and baselines.
        search_config (str): The search config.
        subnet_config (str): The retrain config.
        work_dir (str): Where every run and the results go.
        seeds (Sequence[int]): One search per seed.
        random (int): Random architectures at the searched nets' mean LUT
            latency, within ``tolerance`` (relative) of it.
        tolerance (float): See ``random``.
        random_seed (int): Seed of the random draws.
        arch (str): ``'best'`` or ``'last'``: the derived architecture of a
            seed search (budget searches report ``last`` and ``best``).
        search_epochs (int, optional): Override the search's max_epochs.
        warmup_epochs (int, optional): Override its warm-up epochs.
        retrain_epochs (int, optional): Override the retrain's max_epochs.
        retrain_seed (Sequence[int]): Every net is retrained once per seed
            and scored by its mean top-1.
        targets (Sequence[float]): Latency budgets (ms) of budget searches
            (``LatencyLoss(target=T)``, seed ``seeds[0]``).
        budget_weight (float, optional): ``loss_weight`` of budget searches.
        budget_under_weight (float, optional): Their ``under_weight``.
        reuse (bool): Skip runs that finished with the same call before.
        retrain_budget (bool): Also retrain the budget searches' nets.
        measure (bool): Measure every net's whole-net latency here.
        allow_noisy_lut (bool): Use a table marked noisy.
        jobs (int): Runs at once (each a worker process).
        search_options (Sequence[str]): More ``key=value`` options of every
            search.
        subnet_options (Sequence[str]): More options of every retrain.

    Returns:
        dict: The summary (:func:`rank_summary` plus ``target_ms`` and
        ``budgets``).

    Raises:
        LatencyTableError: If ``lut`` is no file.
        RuntimeError: If a run fails (with its log's end) or too few random
            architectures lie within ``tolerance``.
    """
    settings = dict(locals())
    from densenas_mm.latency.schema import LatencyTableError
    from densenas_mm.structures import DerivedArch
    wd = osp.abspath(work_dir)
    lut = osp.abspath(lut)
    if not osp.isfile(lut):
        raise LatencyTableError(f'no latency table {lut}: build it with '
                                'tools/build_latency_lut.py')
    sopts = schedule_options(search_options, search_epochs, warmup_epochs)
    noisy = bool(allow_noisy_lut)
    if noisy:
        sopts.append('model.estimator.allow_noisy_lut=True')

    def run_search(seed: int) -> NetResult:
        path = search(search_config, osp.join(wd, f'search_s{seed}'), seed,
                      lut, sopts, arch, reuse=reuse)
        return NetResult(f'searched_s{seed}', 'searched', path,
                         arch_latency(path, lut, noisy), seed=seed)

    def run_budget(target: float) -> NetResult:
        opts = sopts + [f'model.cost_loss.target={target}']
        if budget_weight is not None:
            opts.append(f'model.cost_loss.loss_weight={budget_weight}')
        if budget_under_weight is not None:
            opts.append(f'model.cost_loss.under_weight={budget_under_weight}')
        seed = seeds[0]
        # the most probable net within the budget where the search ends
        # (arch/budget.yaml): what a budget is about; the top-1-selected
        # best.yaml is reported next to it
        path = search(search_config, osp.join(wd, f'budget_{target:g}'),
                      seed, lut, opts, 'budget', reuse=reuse)
        best = osp.join(osp.dirname(path), 'best.yaml')
        return NetResult(
            f'budget_{target:g}', 'budget', path,
            arch_latency(path, lut, noisy), seed=seed, target=target,
            best_latency=(arch_latency(best, lut, noisy)
                          if osp.isfile(best) else None))

    results = parallel(jobs, run_search, list(seeds))
    target = sum(r.lut_latency for r in results) / len(results)
    results += random_baselines(search_config, lut, target, random,
                                osp.join(wd, 'random'), random_seed,
                                tolerance, allow_noisy_lut=noisy)
    budgets = parallel(jobs, run_budget, list(targets))
    ropts = retrain_options(subnet_options, retrain_epochs)
    to_train = list(results) + (budgets if retrain_budget else [])
    retrain_seeds = list(retrain_seed)

    def run_retrain(job) -> float:
        r, seed = job
        # the first seed keeps the work dir of a single-seed run (reuse)
        name = r.name if seed == retrain_seeds[0] else f'{r.name}_seed{seed}'
        metrics = retrain(subnet_config, r.arch,
                          osp.join(wd, 'retrain', name), seed, ropts,
                          reuse=reuse)
        return float(metrics['accuracy/top1'])

    jobs_list = [(r, seed) for r in to_train for seed in retrain_seeds]
    scores = parallel(jobs, run_retrain, jobs_list)
    for r in to_train:
        r.top1_seeds = [t for (net, _), t in zip(jobs_list, scores)
                        if net is r]
        r.top1 = float(sum(r.top1_seeds) / len(r.top1_seeds))
    results += budgets
    for r in results:
        r.path = list(DerivedArch.load(r.arch).path)
    if measure:
        measure_latencies(results, lut)
    summary = rank_summary(top1_by_kind(results, 'searched'),
                           top1_by_kind(results, 'random'))
    summary['target_ms'] = target
    summary['budgets'] = [
        dict(target=r.target, achieved=r.lut_latency,
             rel_error=r.lut_latency / r.target - 1,
             measured=r.measured_latency,
             achieved_best=r.best_latency) for r in budgets
    ]
    text = format_summary(results, summary) + budget_text(summary['budgets'])
    write_text_atomic(text, osp.join(wd, 'results.md'))
    save_results(results, summary, osp.join(wd, 'results.json'),
                 args={k: list(v) if isinstance(v, tuple) else v
                       for k, v in settings.items()})
    plot_results(results, osp.join(wd, 'results.png'))
    print(text, end='')
    return summary
