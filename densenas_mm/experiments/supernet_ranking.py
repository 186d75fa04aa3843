"""Supernet ranking: does the supernet rank nets as retraining does?

For the nets of a finished signal check (:mod:`.signal_check`: ``K`` nets,
each retrained with ``S`` seeds) and a search checkpoint of the same space,
every net gets these **scores** (issue 21, item 3):

- the supernet's **top-1 and loss on the search's validation split** (the
  search config's ``val_dataloader``: search-val; a config whose
  ``val_dataloader`` is its ``test_dataloader`` is refused) with the net's
  choices put in play (``mutator.set_choices(arch.fix_subnet)``, as
  ``derive()`` does) and the inherited weights
  (:class:`.supernet_scorer.SupernetScorer`), three ways:

  * ``inherited``: the BN running statistics of the checkpoint as they are
    (gathered during the search over mixtures of paths);
  * ``batch_stats``: BN normalising with each validation batch's own
    statistics, what the search's supernet validation does
    (``DenseNAS.val_step``);
  * ``recalibrated``: the BN running statistics reset and re-estimated on
    the net alone over the first ``bn_batches`` batches of the search-train
    loader (the same batches for every net; cumulative average,
    :func:`~densenas_mm.models.algorithms.recalibrate_bn`), as SPOS and OFA
    do, then evaluated in eval mode;

- the path's **joint log-probability** under alpha and beta
  (:func:`~densenas_mm.models.estimators.budget_derivation.arch_logp`).

Each score is compared with the net's mean retrained top-1 by Kendall's
tau-b and Spearman's rho with bootstrap CIs over nets, next to the ceiling
that seed-vs-seed agreement of the same retrains allows
(:mod:`.rank_stats`). Results: ``ranking.json``, ``ranking.md`` and
``ranking.png`` (:mod:`.supernet_ranking_report`) in the output folder
(atomic writes). The command line:
``tools/benchmark/supernet_ranking.py``.
"""
import json
import os.path as osp
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from densenas_mm.utils.io import prepare_output_dir, write_report
from densenas_mm.utils.options import ConfigError
from .rank_stats import (STATISTICS, rank_bootstrap, rank_correlations,
                         seed_ceiling)
from .supernet_ranking_report import format_report, ranking_figure
from .supernet_scorer import SCORES, SupernetScorer, score_values

#: Format version of ``ranking.json``.
RANKING_VERSION = 1


class RankingInputError(ConfigError):
    """Bad input of the ranking study (signal folder, options): the message
    says what is wrong and how to fix it."""


# ------------------------------------------------------------ signal nets
def _arch_file(signal_dir: str, net: Dict[str, Any]) -> str:
    """The net's architecture file: ``<signal_dir>/archs/<name>.yaml`` (a
    copied work dir or records folder), else the path ``signal.json``
    recorded."""
    local = osp.join(signal_dir, 'archs', f"{net['name']}.yaml")
    if osp.isfile(local):
        return local
    if osp.isfile(str(net.get('arch', ''))):
        return net['arch']
    raise RankingInputError(
        f"{signal_dir}: no architecture file of net {net['name']!r} (looked "
        f"for {local} and the recorded {net.get('arch')!r}); pass a signal "
        'check work dir or records folder with its archs/ folder')


def read_signal(signal_dir: str) -> Dict[str, Any]:
    """The nets of a signal check and their retrained top-1.

    Args:
        signal_dir (str): A signal check work dir or records folder:
            ``signal.json`` (key ``nets``: name, seeds, per-seed top-1) and
            ``archs/<name>.yaml``.

    Returns:
        dict: ``signal`` (the file), ``nets``: per net ``name``, ``arch``
        (its file), ``arch_obj`` (the :class:`DerivedArch`), ``latency``,
        ``seeds``, ``top1_seeds``, ``top1_mean``.

    Raises:
        RankingInputError: No ``signal.json``, fewer than 3 nets, a net
            without top-1 values, a missing architecture file or one that is
            not the net ``signal.json`` records.
    """
    from densenas_mm.structures import DerivedArch
    path = osp.join(signal_dir, 'signal.json')
    if not osp.isfile(path):
        raise RankingInputError(
            f'--signal {signal_dir!r} holds no signal.json: pass the work '
            'dir of tools/benchmark/signal_check.py (or its records folder)')
    with open(path, encoding='utf-8') as f:
        signal = json.load(f)
    nets = signal.get('nets') if isinstance(signal, dict) else None
    if not isinstance(nets, list) or len(nets) < 3:
        raise RankingInputError(
            f'{path}: rank correlations need at least 3 nets, found '
            f'{len(nets) if isinstance(nets, list) else "no nets list"}')
    out = []
    for net in nets:
        top = net.get('top1_seeds') or []
        # per-net seeds; a check written before they were recorded ran
        # every net with the check's seeds
        seeds = net.get('seeds') or signal.get('seeds') or []
        if not top or len(top) != len(seeds):
            raise RankingInputError(
                f"{path}: net {net.get('name')!r} has {len(top)} top-1 "
                f'value(s) for seeds {seeds}: rerun the signal check (or '
                'with --finished-only) to rewrite signal.json')
        file = _arch_file(signal_dir, net)
        arch = DerivedArch.load(file)
        if net.get('net_config') and arch.to_net_config() != \
                net['net_config']:
            raise RankingInputError(
                f"{file} is not the net signal.json records as "
                f"{net['name']} ({net['net_config']}); the folder mixes two "
                'checks')
        out.append(dict(name=net['name'], arch=file, arch_obj=arch,
                        latency=net.get('latency'), seeds=list(seeds),
                        top1_seeds=[float(t) for t in top],
                        top1_mean=float(np.mean(top))))
    return dict(signal=path, nets=out)


def common_seed_table(nets: Sequence[Dict[str, Any]]
                      ) -> Tuple[List[int], List[List[float]]]:
    """The seeds every net was retrained with (in the first net's order)
    and the ``K x S`` top-1 table of those seeds (the ceiling's input)."""
    seeds = [s for s in nets[0]['seeds']
             if all(s in n['seeds'] for n in nets)]
    table = [[n['top1_seeds'][n['seeds'].index(s)] for s in seeds]
             for n in nets]
    return seeds, table


# ---------------------------------------------------------------- study
def _check_search_val(config: str,
                      cfg_options: Optional[Dict[str, Any]]) -> None:
    """Refuse a config that validates on its test loader: the supernet
    scores must come from search-val."""
    from densenas_mm.apis.model_io import load_config
    cfg = load_config(config, cfg_options)
    if cfg.get('val_dataloader') is None or (
            cfg.get('test_dataloader') is not None
            and cfg.val_dataloader == cfg.test_dataloader):
        raise RankingInputError(
            f'{config}: its val_dataloader is missing or is its '
            'test_dataloader; the supernet scores must come from the '
            "search's validation split (search-val), never the test "
            'split: pass a search config')


def _cpu_seconds() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def supernet_ranking(config: str,
                     checkpoint: str,
                     signal: str,
                     bn_batches: int = 20,
                     out_dir: str = 'work_dirs/supernet_ranking',
                     bootstrap_reps: int = 2000,
                     cfg_options: Optional[Dict[str, Any]] = None,
                     quiet: bool = False) -> Dict[str, Any]:
    """Score every net of a signal check with a search's supernet and rank
    the scores against retraining (the module's protocol).

    Args:
        config (str): The search config.
        checkpoint (str): Its search checkpoint.
        signal (str): A signal check work dir or records folder.
        bn_batches (int): Search-train batches of the BN recalibration.
        out_dir (str): Where ``ranking.json`` / ``.md`` / ``.png`` go.
        bootstrap_reps (int): Bootstrap replicates of the CIs.
        cfg_options (dict, optional): Overrides of the search config.
        quiet (bool): Do not print the report.

    Returns:
        dict: What ``ranking.json`` holds.

    Raises:
        RankingInputError: Bad signal folder or options, a config that
            validates on its test loader.
        ScorerInputError: More ``bn_batches`` than search-train has.
        CheckpointError: A checkpoint not of this config.
        ArchError: A net that is not of the checkpoint's space.
    """
    if bootstrap_reps < 10:
        raise RankingInputError(
            f'--bootstrap-reps must be >= 10, got {bootstrap_reps}')
    if bn_batches < 1:
        raise RankingInputError(
            f'--bn-batches must be >= 1, got {bn_batches}')
    out_dir = prepare_output_dir(out_dir, '--out-dir')
    start, cpu0 = time.time(), _cpu_seconds()
    sig = read_signal(signal)
    _check_search_val(config, cfg_options)
    scorer = SupernetScorer(config, checkpoint, bn_batches, cfg_options)
    nets = []
    for net in sig['nets']:
        arch = net['arch_obj']
        scored = scorer.score(arch)
        nets.append(dict(
            name=net['name'], arch=net['arch'], path=list(arch.path),
            net_config=arch.to_net_config(), latency=net['latency'],
            seeds=net['seeds'], top1_seeds=net['top1_seeds'],
            top1_mean=net['top1_mean'], logp=scored.pop('logp'),
            supernet=scored))
    means = [n['top1_mean'] for n in nets]
    correlations = {
        key: rank_bootstrap([score_values(n)[key] for n in nets], means,
                            reps=bootstrap_reps)
        for key in SCORES
    }
    # how the supernet's own order of the nets changes with the BN mode
    # (and how the path probability orders them): no retrain noise here
    reference = [score_values(n)['top1_recalibrated'] for n in nets]
    agreement = {
        key: rank_correlations(
            [score_values(n)[key] for n in nets], reference)['kendall_tau']
        for key in SCORES if key != 'top1_recalibrated'
    }
    seeds, table = common_seed_table(sig['nets'])
    ceiling = (seed_ceiling(table, reps=bootstrap_reps)
               if len(seeds) >= 2 else None)
    result = dict(
        version=RANKING_VERSION, config=config,
        checkpoint=osp.abspath(checkpoint), signal=osp.abspath(signal),
        bn_batches=bn_batches,
        bn_images=scorer.bn_images,
        val_images=nets[0]['supernet']['inherited']['images'],
        scores=dict(SCORES), statistics=list(STATISTICS),
        bootstrap=dict(level=0.95, reps=bootstrap_reps,
                       resampled='nets'),
        nets=nets, correlations=correlations,
        agreement_with_recalibrated=agreement, ceiling_seeds=seeds,
        ceiling=ceiling,
        date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
        wall_s=time.time() - start, cpu_s=_cpu_seconds() - cpu0)
    text = format_report(result)
    from densenas_mm.visualization import save_figure
    save_figure(ranking_figure(result), osp.join(out_dir, 'ranking.png'))
    write_report(out_dir, 'ranking', result, text, echo=not quiet)
    return result


__all__ = [
    'RANKING_VERSION', 'RankingInputError', 'common_seed_table',
    'read_signal', 'supernet_ranking'
]
