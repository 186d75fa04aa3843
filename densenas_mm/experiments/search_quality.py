"""Does the search beat guessing? Searched nets against random nets.

The comparison the DenseNAS paper makes (its Table 4: random search in the
same space at a matched budget), run with this project's tools:

1. search with the search config for each seed (``tools/train.py``) and
   take the derived architecture (``arch/best.yaml`` or ``last.yaml``);
2. draw random architectures of the same space (random alphas/betas,
   derived as after a search, ``densenas_mm.apis.random_arch``) whose LUT
   latency lies within ``tolerance`` of the searched nets' mean;
3. retrain every net from scratch with the same recipe and seed
   (``tools/train.py`` with the subnet config) and evaluate it
   (``tools/test.py``);
4. summarise: top-1 of the searched nets, mean / spread of the random
   nets, the searched nets' ranks among them; optionally a sweep over
   latency budgets (``LatencyLoss(target=T)``) that reports where the
   derived latency lands.

Every step is a subprocess of a command line tool (as a user would run it),
logged under the work dir; results are JSON, every file written atomically.
"""
import json
import os
import os.path as osp
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from densenas_mm.utils.io import dump_json_atomic

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


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
            latency (its ``arch`` is where it ended, ``last.yaml``).
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
    """``--cfg-options`` that load data in-process (``num_workers=0``)."""
    out = []
    for name in names:
        out += [f'{name}.num_workers=0', f'{name}.persistent_workers=False']
    return out


SEARCH_LOADERS = ('train_dataloader', 'train_cfg.arch_dataloader',
                  'val_dataloader')
SUBNET_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


#: Name of the marker a finished run leaves in its work dir (its command).
DONE_FILE = 'done.json'


def run_tool(tool: str, args: Sequence[str], log: str,
             env: Optional[Dict[str, str]] = None,
             reuse: bool = False) -> None:
    """Run ``tools/<tool>`` with this interpreter; its output goes to ``log``.

    A run that succeeds records its command in ``done.json`` next to
    ``log`` (one entry per tool); with ``reuse`` a run whose recorded
    command is the same is not run again (an interrupted benchmark picks up
    where it stopped).

    Raises:
        RuntimeError: With the end of the log when the tool fails.
    """
    os.makedirs(osp.dirname(osp.abspath(log)), exist_ok=True)
    cmd = [sys.executable, osp.join(REPO_ROOT, 'tools', tool)] + list(args)
    done_file = osp.join(osp.dirname(osp.abspath(log)), DONE_FILE)
    done: Dict[str, List[str]] = {}
    if osp.isfile(done_file):
        with open(done_file, encoding='utf-8') as f:
            done = json.load(f)
    if reuse and done.get(tool) == cmd[1:]:
        return
    with open(log, 'w', encoding='utf-8') as f:
        f.write(' '.join(cmd) + '\n')
        f.flush()
        proc = subprocess.run(
            cmd, cwd=REPO_ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log, encoding='utf-8') as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'{tool} failed (exit {proc.returncode}), log '
                           f'{log}:\n{tail}')
    done[tool] = cmd[1:]
    dump_json_atomic(done, done_file)


def search(config: str, work_dir: str, seed: int, lut: str,
           options: Sequence[str] = (), arch: str = 'best',
           reuse: bool = False) -> str:
    """One search; returns its derived architecture YAML (``arch/<arch>``;
    ``reuse``: see :func:`run_tool`)."""
    run_tool('train.py', [
        config, '--work-dir', work_dir, '--cfg-options',
        f'randomness.seed={seed}', f'model.sample_seed={seed}',
        f'model.estimator.lut={lut}', *loader_options(SEARCH_LOADERS),
        *options
    ], osp.join(work_dir, 'search.log'), reuse=reuse)
    path = osp.join(work_dir, 'arch', f'{arch}.yaml')
    if not osp.isfile(path):
        raise RuntimeError(f'the search wrote no {path}')
    return path


def retrain(config: str, arch: str, work_dir: str, seed: int = 0,
            options: Sequence[str] = (),
            reuse: bool = False) -> Dict[str, float]:
    """Retrain ``arch`` from scratch with ``config``; test metrics
    (``reuse``: see :func:`run_tool`)."""
    common = [f'model.backbone.arch={arch}', f'randomness.seed={seed}',
              *loader_options(SUBNET_LOADERS), *options]
    run_tool('train.py', [config, '--work-dir', work_dir, '--cfg-options',
                          *common], osp.join(work_dir, 'train.log'),
             reuse=reuse)
    with open(osp.join(work_dir, 'last_checkpoint'), encoding='utf-8') as f:
        ckpt = f.read().strip()
    out = osp.join(work_dir, 'metrics.json')
    run_tool('test.py', [config, ckpt, '--work-dir', work_dir, '--out', out,
                         '--cfg-options', *common],
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
    """LUT latency vs top-1 and measured latency vs top-1, searched vs
    random (vs budget searches)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from densenas_mm.visualization import save_figure
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
        if ax.collections:
            ax.legend(fontsize=8)
    fig.suptitle('searched vs random architectures, same retraining recipe',
                 fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


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


def parallel(jobs: int, fn, items: Sequence[Any]) -> List[Any]:
    """``[fn(x) for x in items]`` with up to ``jobs`` at once (subprocess
    tools, so threads suffice)."""
    if jobs <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(fn, items))
