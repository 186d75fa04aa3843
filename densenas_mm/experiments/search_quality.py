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
(:mod:`.runs`, :mod:`.workers`: mmengine's process-wide state), logged
under the work dir, resumable with ``reuse``; results are JSON, every file
written atomically (:mod:`.search_quality_report`). :func:`compare` runs the
whole protocol (the command line: ``tools/benchmark/search_quality.py``).
"""
import os.path as osp
from typing import Any, Dict, Optional, Sequence

from densenas_mm.utils.io import write_text_atomic
from .paths import repo_path
from .runs import (NetResult, arch_latency, measure_latencies,
                   random_baselines, retrain, retrain_options,
                   schedule_options, search)
from .search_quality_report import (budget_text, format_summary,
                                    plot_results, rank_summary, save_results,
                                    top1_by_kind)
from .workers import parallel

#: The demo's search and subnet configs (the defaults of :func:`compare`).
DEMO_SEARCH = repo_path('configs', 'densenas',
                        'densenas_supernet-demo_1xb32-20e_fmnist.py')
DEMO_SUBNET = repo_path('configs', 'densenas', 'subnets',
                        'densenas_subnet-demo_1xb32-12e_fmnist.py')


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
        dict: The summary (:func:`~.search_quality_report.rank_summary`
        plus ``target_ms`` and ``budgets``).

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
