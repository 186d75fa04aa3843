"""Run primitives of the experiments: searches, retrains, random nets.

What every experiment over searched and random nets runs, one net at a
time:

- :func:`search`: one search with a search config and a seed (every
  loader in-process, :func:`loader_options`); its derived architecture;
- :func:`retrain`: one net retrained from scratch with a subnet config and
  tested; its test metrics;
- :func:`schedule_options` / :func:`retrain_options`: the config options
  of a search / retrain with its schedule overridden;
- :func:`random_baselines`: random architectures of a search space whose
  LUT latency lies closest to a target;
- :func:`arch_latency` / :func:`measure_latencies`: an architecture's LUT
  latency, and every net's measured whole-net latency.

Every search, retrain and test runs in its own worker process
(:func:`~.workers.run_job`), logged under its work dir and resumable with
``reuse``. A net and its numbers are a :class:`NetResult`.
"""
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from densenas_mm.apis.cli import parse_cfg_options
from densenas_mm.apis.launch import run_test, run_train
from densenas_mm.utils.resume import read_last_checkpoint
from .workers import DONE_FILE, run_job

#: The retrain seeds: ``S`` seeds are the first ``S`` of this list.
SEED_LIST = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)


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


def finished(run_dir: str) -> bool:
    """Whether a retrain folder holds a finished test (its metrics and its
    ``done.json`` record)."""
    done = osp.join(run_dir, DONE_FILE)
    if not (osp.isfile(done) and osp.isfile(osp.join(run_dir,
                                                      'metrics.json'))):
        return False
    with open(done, encoding='utf-8') as f:
        return 'test' in json.load(f)
