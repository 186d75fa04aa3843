"""Signal check: does the architecture matter more than the retrain seed?

Before a searched-vs-random comparison can say anything, the top-1 spread
between architectures of equal latency must exceed the spread between
retrains of one architecture. This experiment measures it:

1. a pool of random architectures of the search space (random alphas and
   betas, derived as after a search: :mod:`densenas_mm.apis.random_arch`),
   each with its estimated latency, kept as one JSON file (``pool.json``)
   that later experiments reuse (:func:`load_or_draw_pool`; gzip-compressed
   when its name ends in ``.gz``, as the default ``pool.json.gz``);
2. ``K`` of them within ``tolerance`` (relative) of one latency: a given
   one, or a quantile of the pool's latencies (:func:`pick_matched`; the
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
import gzip
import hashlib
import json
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from densenas_mm.utils.io import atomic_path, write_report
from . import power
from .runs import retrain, retrain_options
from .workers import DONE_FILE, cpu_seconds, parallel

#: Format version of ``pool.json``.
POOL_VERSION = 1
#: The retrain seeds: ``S`` seeds are the first ``S`` of this list.
SEED_LIST = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)


def draw_pool(config: str, lut: str, seed: int = 0, draws: int = 5000,
              std: float = 3.0, latency_key: str = 'latency',
              allow_noisy_lut: bool = False) -> Dict[str, Any]:
    """Draw random architectures of ``config``'s space; the distinct ones,
    in draw order, with their estimated latency.

    Args:
        config (str): A DenseNAS search config (its space and mutator).
        lut (str): The latency table.
        seed (int): Seed of the random logits.
        draws (int): Architectures drawn (duplicates are kept once).
        std (float): Std of the random logits.
        latency_key (str): Which number of the estimator's result the pool
            is matched on (``'latency'``: the table's sum; a calibrated
            estimate once the table carries a calibration).
        allow_noisy_lut (bool): Use a table marked noisy.

    Returns:
        dict: The pool (``version``, its settings, ``archs``: a list of
        ``{latency, arch}`` with the architecture as ``DerivedArch.to_dict``).
    """
    import torch

    from densenas_mm.apis.random_arch import build_search_mutator, random_arch
    from densenas_mm.models.estimators import ChainedLatencyEstimator
    mutator = build_search_mutator(config)
    est = ChainedLatencyEstimator(lut=lut, target_device=None,
                                  allow_noisy_lut=allow_noisy_lut)
    est.bind(mutator.space)
    gen = torch.Generator().manual_seed(seed)
    seen = set()
    archs = []
    for _ in range(draws):
        arch = random_arch(mutator, gen, std)
        key = arch.to_net_config()
        if key in seen:
            continue
        seen.add(key)
        result = est.estimate(arch)
        if latency_key not in result:
            raise ValueError(f'the estimator gives no {latency_key!r}; it '
                             f'gives {sorted(result)}')
        archs.append(dict(latency=float(result[latency_key]),
                          arch=arch.to_dict()))
    return dict(version=POOL_VERSION, config=config, lut=osp.abspath(lut),
                lut_sha256=file_sha256(lut), seed=seed, draws=draws, std=std, latency_key=latency_key,
                archs=archs)


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes (a pool names its table by content, so a
    copied table still matches)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def read_pool(path: str) -> Dict[str, Any]:
    """A pool file (gzip-compressed JSON when its name ends in ``.gz``)."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rt', encoding='utf-8') as f:
        return json.load(f)


def write_pool(pool: Dict[str, Any], path: str) -> None:
    """Write a pool atomically (gzip, with a fixed header time, when the
    name ends in ``.gz``: the same pool gives the same bytes)."""
    data = (json.dumps(pool) + '\n').encode('utf-8')
    with atomic_path(path) as tmp:
        if path.endswith('.gz'):
            with open(tmp, 'wb') as raw, gzip.GzipFile(
                    filename='', mode='wb', fileobj=raw, mtime=0) as f:
                f.write(data)
        else:
            with open(tmp, 'wb') as f:
                f.write(data)


def load_or_draw_pool(path: str, config: str, lut: str, seed: int = 0,
                      draws: int = 5000, std: float = 3.0,
                      latency_key: str = 'latency',
                      allow_noisy_lut: bool = False) -> Dict[str, Any]:
    """The pool at ``path``; drawn (:func:`draw_pool`) and written
    atomically when there is none.

    Raises:
        ValueError: If the file holds a pool drawn with other settings
            (config as given, table content, seed, draws, std or latency
            key): pass another path, or the settings it was drawn with.
    """
    wanted = dict(version=POOL_VERSION, config=config,
                  lut_sha256=file_sha256(lut), seed=seed, draws=draws, std=std, latency_key=latency_key)
    if osp.isfile(path):
        pool = read_pool(path)
        differ = {k: (pool.get(k), v) for k, v in wanted.items()
                  if pool.get(k) != v}
        if differ:
            raise ValueError(
                f'the pool {path} was drawn with other settings '
                + ', '.join(f'{k}: {a!r} (asked {b!r})'
                            for k, (a, b) in differ.items())
                + '; pass its settings or another --pool path')
        return pool
    pool = draw_pool(config, lut, seed, draws, std, latency_key,
                     allow_noisy_lut)
    write_pool(pool, path)
    return pool


def pick_matched(pool: Dict[str, Any], count: int,
                 latency: Optional[float] = None,
                 quantile: Optional[float] = None,
                 tolerance: float = 0.01
                 ) -> Tuple[float, List[Dict[str, Any]]]:
    """``count`` pool entries within ``tolerance`` of one latency, in draw
    order.

    Args:
        pool (dict): A pool (:func:`draw_pool`).
        count (int): How many architectures.
        latency (float, optional): The latency (ms) to match.
        quantile (float, optional): Else this quantile of the pool's
            latencies (default 0.5: the median).
        tolerance (float): Relative window around the latency.

    Returns:
        tuple: The target latency and the picked entries.

    Raises:
        ValueError: If both ``latency`` and ``quantile`` are given, or fewer
            than ``count`` entries lie in the window.
    """
    if latency is not None and quantile is not None:
        raise ValueError('give a latency or a latency quantile, not both')
    lats = np.array([e['latency'] for e in pool['archs']])
    if latency is None:
        q = 0.5 if quantile is None else quantile
        if not 0 <= q <= 1:
            raise ValueError(f'the latency quantile must lie in [0, 1], '
                             f'got {q}')
        latency = float(np.quantile(lats, q))
    inside = [e for e in pool['archs']
              if abs(e['latency'] / latency - 1) <= tolerance]
    if len(inside) < count:
        raise ValueError(
            f'only {len(inside)} of the pool\'s {len(lats)} distinct '
            f'architectures lie within {tolerance:.1%} of {latency:.3f} ms '
            f'(pool range {lats.min():.3f}-{lats.max():.3f} ms), {count} '
            'asked: choose a latency nearer the pool median, a larger '
            '--tolerance or more --pool-draws')
    return latency, inside[:count]


def write_arch(arch_dict: Dict[str, Any], path: str,
               meta: Optional[Dict[str, Any]] = None) -> str:
    """Write one architecture (``DerivedArch.to_dict`` form, ``meta``
    added) to ``path``; an existing file of the same net is kept.

    Raises:
        ValueError: If ``path`` already holds a different architecture (its
            runs would be reused for another net): use a new work dir.
    """
    from densenas_mm.structures import DerivedArch
    arch = DerivedArch.from_dict(arch_dict)
    if osp.isfile(path):
        old = DerivedArch.load(path).to_net_config()
        if old != arch.to_net_config():
            raise ValueError(
                f'{path} holds another architecture than the one asked now '
                '(other pool, latency, tolerance or search); its runs would '
                'be reused for the wrong net: use a new --work-dir')
    else:
        arch.meta.update(meta or {})
        arch.dump(path)
    return path


def write_archs(entries: Sequence[Dict[str, Any]], folder: str) -> List[str]:
    """The picked architectures as ``arch_<k>.yaml`` files
    (:func:`write_arch`)."""
    return [
        write_arch(entry['arch'], osp.join(folder, f'arch_{k}.yaml'),
                   dict(latency=round(entry['latency'], 4)))
        for k, entry in enumerate(entries)
    ]


def finished(run_dir: str) -> bool:
    """Whether a retrain folder holds a finished test (its metrics and its
    ``done.json`` record)."""
    done = osp.join(run_dir, DONE_FILE)
    if not (osp.isfile(done) and osp.isfile(osp.join(run_dir,
                                                      'metrics.json'))):
        return False
    with open(done, encoding='utf-8') as f:
        return 'test' in json.load(f)


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


__all__ = [
    'POOL_VERSION', 'SEED_LIST', 'draw_pool', 'format_table',
    'finished', 'load_or_draw_pool', 'pick_matched', 'read_pool', 'signal_check',
    'write_arch', 'write_archs', 'write_pool'
]
