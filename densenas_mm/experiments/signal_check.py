"""Signal check: does the architecture matter more than the retrain seed?

Before a searched-vs-random comparison can say anything, the top-1 spread
between architectures of equal latency must exceed the spread between
retrains of one architecture. This experiment measures it:

1. a pool of random architectures of the search space (random alphas and
   betas, derived as after a search: :mod:`densenas_mm.apis.random_arch`),
   each with its estimated latency, kept as one JSON file (``pool.json``)
   that later experiments reuse (:func:`.pool.load_or_draw_pool`;
   gzip-compressed when its name ends in ``.gz``, as the default
   ``pool.json.gz``);
2. ``K`` of them within ``tolerance`` (relative) of one latency: a given
   one, or a quantile of the pool's latencies (:func:`.pool.pick_matched`; the
   first ``K`` in the pool's random draw order, so a random sample of the
   window);
3. each retrained from scratch with ``S`` seeds of a fixed seed list and
   tested on the test split (:func:`.runs.retrain`, one worker
   process per run, resumable: a finished run is reused);
4. the one-way random-effects ANOVA of the K x S top-1 table
   (:mod:`.stats`, :mod:`.power`): the architecture share of the variance (ICC) with a
   bootstrap CI, the SD of the per-architecture means, and the smallest
   searched-minus-random difference the comparison protocol would detect.

Results: ``signal.json`` and ``signal.md`` in the work dir (atomic), the
architectures under ``archs/``, the runs under ``runs/``. The command line:
``tools/benchmark/signal_check.py``.
"""
import json
import os.path as osp
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from densenas_mm.utils.io import write_report
from . import power
from .pool import load_or_draw_pool, pick_matched, write_archs
from .runs import SEED_LIST, finished, retrain, retrain_options
from .workers import cpu_seconds, parallel

def format_table(result: Dict[str, Any]) -> str:
    """Markdown: one row per architecture, then the statistics."""
    seeds = result['seeds']
    lines = [
        '| arch | path | latency ms | ' +
        ' | '.join(f'seed {s}' for s in seeds) + ' | mean +- sd |',
        '|---|---|---|' + '---|' * len(seeds) + '---|'
    ]
    for net in result['nets']:
        top = net['top1_seeds']
        by_seed = dict(zip(net['seeds'], top))
        sd = float(np.std(top, ddof=1)) if len(top) > 1 else 0.0
        lines.append(f"| {net['name']} | {net['path']} | "
                     f"{net['latency']:.3f} | " +
                     ' | '.join('-' if s not in by_seed else
                                f'{by_seed[s]:.2f}' for s in seeds) +
                     f' | {np.mean(top):.2f} +- {sd:.2f} |')
    s = result['stats']
    a, ci, p = s['anova'], s['ci'], s['power']
    lines += [
        '',
        f"K={a['n_groups']} architectures within "
        f"{result['tolerance']:.1%} of {result['target_latency']:.3f} ms x "
        f"S={len(seeds)} seeds, {a['n_total']} runs (top-1 %, test split)",
        f"- architecture share of the variance (ICC(1)): {a['icc']:.3f} "
        f"(95 % CI {ci['icc'][0]:.3f}-{ci['icc'][1]:.3f}, cluster "
        'bootstrap over architectures)',
        f"- SD of the per-architecture means: {a['sd_means']:.3f} points "
        f"(95 % CI {ci['sd_means'][0]:.3f}-{ci['sd_means'][1]:.3f})",
        f"- variance components: architecture {a['var_arch']:.4f}, seed "
        f"{a['var_seed']:.4f} (SD {np.sqrt(a['var_arch']):.3f} / "
        f"{np.sqrt(a['var_seed']):.3f} points); grand mean "
        f"{a['grand_mean']:.2f}",
        f"- smallest searched-minus-random difference detected with 80 % "
        f"power at alpha 0.05 ({p['n_searched']} searched nets x "
        f"{p['n_random']} random nets each, {p['seeds']} seeds, "
        f"{p['method']}): {p['detectable']:.2f} points (1 / 2 / 3 / 5 / 10 "
        'seeds: ' + ' / '.join(f'{v:.2f}' for v in p['by_seeds'].values()) +
        ')',
        f"- CPU-hours: {result['cpu_hours']:.2f} (the {result['runs']} "
        f"runs reported, of {result['planned_runs']} planned), "
        f"{result['new_runs']} new run(s) in this call",
    ]
    return '\n'.join(lines) + '\n'


def signal_check(config: str,
                 subnet_config: str,
                 lut: str,
                 archs: int = 12,
                 seeds: int = 3,
                 work_dir: str = 'work_dirs/signal_check',
                 *,
                 latency: Optional[float] = None,
                 latency_quantile: Optional[float] = None,
                 tolerance: float = 0.01,
                 jobs: int = 2,
                 seed_list: Optional[Sequence[int]] = None,
                 pool: Optional[str] = None,
                 pool_seed: int = 0,
                 pool_draws: int = 5000,
                 latency_key: str = 'latency',
                 retrain_epochs: Optional[int] = None,
                 subnet_options: Sequence[str] = (),
                 n_searched: int = 4,
                 n_random: int = 10,
                 bootstrap_reps: int = 2000,
                 finished_only: bool = False,
                 allow_noisy_lut: bool = False) -> Dict[str, Any]:
    """Run the signal check (the module's protocol); resumable.

    Args:
        config (str): The search config (its space).
        subnet_config (str): The retrain config.
        lut (str): The latency table.
        archs (int): ``K`` architectures.
        seeds (int): ``S`` retrain seeds each (the first ``S`` of
            ``seed_list``).
        work_dir (str): Where the pool (default), archs, runs and results go.
        latency (float, optional): The latency to match (ms).
        latency_quantile (float, optional): Else this quantile of the pool
            (default: the median).
        tolerance (float): Relative latency window.
        jobs (int): Retrains at once.
        seed_list (Sequence[int], optional): The fixed seed list (default
            :data:`SEED_LIST`).
        pool (str, optional): The pool file (default
            ``<work_dir>/pool.json.gz``;
            drawn when missing, reused when present).
        pool_seed (int): Seed of the pool's draws.
        pool_draws (int): Draws of the pool.
        latency_key (str): The estimator's number the pool is matched on.
        retrain_epochs (int, optional): Override the retrain's epochs.
        subnet_options (Sequence[str]): More ``key=value`` retrain options.
        n_searched (int): Searched nets of the planned comparison (power).
        n_random (int): Random nets per searched net in it (power).
        bootstrap_reps (int): Bootstrap replicates of the CIs.
        finished_only (bool): Start no run: report the runs finished so far
            (an interrupted or still running check; unequal seed counts
            per architecture are allowed, architectures without a run are
            left out).
        allow_noisy_lut (bool): Use a table marked noisy.

    Returns:
        dict: What ``signal.json`` holds (``runs`` reported of
        ``planned_runs``).

    Raises:
        ValueError: Bad counts, a pool or work dir of other settings, too few
            architectures in the window.
        RuntimeError: A run failed (with its log's end).
    """
    if archs < 2 or seeds < 2:
        raise ValueError(f'need at least 2 architectures and 2 seeds, got '
                         f'--archs {archs} --seeds {seeds}')
    seed_list = list(SEED_LIST if seed_list is None else seed_list)
    if seeds > len(seed_list):
        raise ValueError(f'--seeds {seeds} exceeds the seed list '
                         f'{seed_list}')
    used_seeds = seed_list[:seeds]
    wd = osp.abspath(work_dir)
    pool_path = osp.abspath(pool or osp.join(wd, 'pool.json.gz'))
    the_pool = load_or_draw_pool(pool_path, config, lut, pool_seed,
                                 pool_draws, latency_key=latency_key,
                                 allow_noisy_lut=allow_noisy_lut)
    target, picked = pick_matched(the_pool, archs, latency, latency_quantile,
                                  tolerance)
    paths = write_archs(picked, osp.join(wd, 'archs'))
    ropts = retrain_options(subnet_options, retrain_epochs)
    jobs_list = [(k, s) for k in range(archs) for s in used_seeds]

    def run_dir(job: Tuple[int, int]) -> str:
        return osp.join(wd, 'runs', f'arch_{job[0]}_seed{job[1]}')

    before = [finished(run_dir(j)) for j in jobs_list]
    if finished_only:
        jobs_list = [j for j, done in zip(jobs_list, before) if done]
        before = [True] * len(jobs_list)

    def run(job: Tuple[int, int]) -> float:
        k, s = job
        if finished_only:
            with open(osp.join(run_dir(job), 'metrics.json'),
                      encoding='utf-8') as f:
                metrics = json.load(f)
        else:
            metrics = retrain(subnet_config, paths[k], run_dir(job), s,
                              ropts, reuse=True)
        return float(metrics['accuracy/top1'])

    scores = parallel(jobs, run, jobs_list)
    new_runs = len(jobs_list) - sum(before)
    from densenas_mm.structures import DerivedArch
    nets = []
    for k, path in enumerate(paths):
        top = [t for (i, _), t in zip(jobs_list, scores) if i == k]
        if not top:  # finished_only: an architecture without runs yet
            continue
        arch = DerivedArch.load(path)
        nets.append(dict(name=f'arch_{k}', arch=path,
                         latency=picked[k]['latency'], path=list(arch.path),
                         net_config=arch.to_net_config(),
                         seeds=[s for i, s in jobs_list if i == k],
                         top1_seeds=top))
    if len(nets) < 2 or len(jobs_list) <= len(nets):
        raise ValueError(
            f'{len(jobs_list)} finished run(s) of {len(nets)} architecture(s) '
            f'in {osp.join(wd, "runs")}: the statistics need 2 architectures '
            'and one of them with 2 seeds; run without --finished-only')
    cpu_s = sum(cpu_seconds(run_dir(j)) for j in jobs_list)
    planned = archs * seeds
    result = dict(
        config=config, subnet_config=subnet_config, lut=osp.abspath(lut),
        pool=pool_path, pool_size=len(the_pool['archs']),
        latency_key=latency_key, target_latency=target,
        tolerance=tolerance, seeds=used_seeds, retrain_epochs=retrain_epochs,
        subnet_options=list(subnet_options), nets=nets,
        stats=power.summarize([n['top1_seeds'] for n in nets], n_searched,
                              n_random, seeds, bootstrap_reps),
        runs=len(jobs_list), planned_runs=planned, new_runs=new_runs,
        cpu_hours=cpu_s / 3600)
    text = format_table(result)
    write_report(wd, 'signal', result, text)
    return result


__all__ = ['format_table', 'signal_check']
