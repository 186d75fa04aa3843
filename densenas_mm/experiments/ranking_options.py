"""Search options beyond the paper, measured by the supernet ranking.

Issue 21, item 5: options that may make the supernet rank nets as
retraining does. Each option is a search config (``configs/densenas/lab/``:
BN re-estimation before supernet validation, uniform op sampling in weight
steps with a longer warm-up, one sampled path per weight step), searched
with the same table and the same search seeds as the demo search, and each
search's last checkpoint is scored by the ranking study
(:mod:`.supernet_ranking`) on the nets of one finished signal check (their
mean retrained top-1 is the truth). The report gives, per option and search
seed, Kendall's tau of each supernet score (and of the path probability)
with its bootstrap CI, the mean over seeds, the seed-vs-seed ceiling of the
retrains, which net the search derived (``last.yaml``) and selected
(``best.yaml``), and the CPU-hours. Searches are reused when finished
(:func:`~.workers.run_job`), so an interrupted run picks up where it
stopped; the rankings are recomputed each time (seconds).

Outputs in the work dir: ``<option>/s<seed>/`` (the search and its
``ranking/``), ``options.json`` and ``options.md`` (atomic writes). The
command line: ``tools/benchmark/ranking_options.py``.
"""
import os.path as osp
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from densenas_mm.apis.cli import parse_cfg_options
from densenas_mm.utils.io import prepare_output_dir, write_report
from densenas_mm.utils.options import ConfigError
from densenas_mm.utils.resume import read_last_checkpoint
from .named_specs import check_spec_configs, parse_named_specs, split_spec
from .runs import search
from .supernet_ranking import supernet_ranking
from .supernet_scorer import SCORES
from .workers import cpu_seconds, parallel

#: Format version of ``options.json``.
OPTIONS_VERSION = 1
#: The default options: name -> ``CONFIG[,KEY=VALUE...]`` (a search config
#: and its own ``--cfg-options``; the paper's demo search first, as the
#: reference every option is compared with).
DEFAULT_OPTIONS = {
    'paper': 'configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py',
    'bn_recal': 'configs/densenas/lab/'
                'densenas_supernet-demo-bnrecal_1xb32-20e_fmnist.py',
    'uniform_long_warmup': 'configs/densenas/lab/'
                           'densenas_supernet-demo-uniform_1xb32-20e_fmnist.py'
                           ',warmup_epochs=15',
    'path_sampled': 'configs/densenas/lab/'
                    'densenas_supernet-demo-pathsampled_1xb32-20e_fmnist.py',
}
#: The scores the report tabulates (keys of :data:`.supernet_ranking.SCORES`).
REPORTED = ('top1_recalibrated', 'top1_batch_stats', 'top1_inherited',
            'logp')


def parse_options(pairs: Optional[Sequence[str]]) -> Dict[str, str]:
    """``NAME=CONFIG[,KEY=VALUE...]`` pairs as an ordered dict of name ->
    spec (None: the defaults; :func:`.named_specs.parse_named_specs`).

    Raises:
        ConfigError: A pair without ``=``, a repeated name, or a bad spec.
    """
    if not pairs:
        return dict(DEFAULT_OPTIONS)
    return parse_named_specs(
        pairs, '--option',
        f'uniform_long_warmup={DEFAULT_OPTIONS["uniform_long_warmup"]}')


def _arch_summary(search_dir: str) -> Dict[str, Any]:
    """The derived (``last.yaml``) and selected (``best.yaml``) nets."""
    from densenas_mm.structures import DerivedArch
    out: Dict[str, Any] = {}
    for key in ('last', 'best'):
        path = osp.join(search_dir, 'arch', f'{key}.yaml')
        if osp.isfile(path):
            arch = DerivedArch.load(path)
            out[key] = dict(path=list(arch.path),
                            net_config=arch.to_net_config(),
                            latency=arch.meta.get('latency'))
    return out


def _mean_tau(rows: List[Dict[str, Any]], key: str) -> Tuple[float, float]:
    """Mean and SD over search seeds of one score's tau."""
    taus = np.array([r['tau'][key] for r in rows], dtype=float)
    sd = float(taus.std(ddof=1)) if taus.size > 1 else float('nan')
    return float(taus.mean()), sd


def format_report(result: Dict[str, Any]) -> str:
    """``options.md``: one row per option and search seed, then means."""
    heads = [SCORES[k] for k in REPORTED]
    lines = [
        '| option | search seed | ' + ' | '.join(heads) +
        ' | derived path (last.yaml) | selected path (best.yaml) |',
        '|---' * (len(heads) + 4) + '|'
    ]
    for row in result['rows']:
        cells = [
            f"{row['tau'][k]:+.3f} ({row['ci'][k][0]:+.2f} to "
            f"{row['ci'][k][1]:+.2f})" for k in REPORTED
        ]
        nets = row['archs']
        lines.append(
            f"| {row['option']} | {row['search_seed']} | " +
            ' | '.join(cells) +
            f" | {nets.get('last', {}).get('path')} | "
            f"{nets.get('best', {}).get('path')} |")
    lines += ['', 'Mean (SD) of Kendall\'s tau over the search seeds:', '',
              '| option | ' + ' | '.join(heads) + ' | search CPU-h |',
              '|---' * (len(heads) + 2) + '|']
    for name, summary in result['options'].items():
        cells = [
            f"{summary['mean_tau'][k][0]:+.3f} ({summary['mean_tau'][k][1]:.3f})"
            for k in REPORTED
        ]
        lines.append(f'| {name} | ' + ' | '.join(cells) +
                     f" | {summary['cpu_hours']:.2f} |")
    ceiling = result.get('ceiling')
    lines.append('')
    lines.append(
        f"Kendall's tau of each score vs the mean retrained top-1 of the "
        f"{result['nets']} nets of {result['signal']} (95 % CIs: bootstrap "
        'over nets).')
    if ceiling:
        lines.append(
            f"Ceiling (retrain seeds {result['ceiling_seeds']}): one seed vs "
            f"the mean of the others, tau "
            f"{ceiling['leave_one_out']['kendall_tau']:+.3f} (CI "
            f"{ceiling['leave_one_out']['kendall_tau_ci'][0]:+.2f} to "
            f"{ceiling['leave_one_out']['kendall_tau_ci'][1]:+.2f}); random-"
            f"effects model: Pearson r of a perfect score with the means "
            f"{ceiling['model']['pearson']:.3f}.")
    lines.append(
        f"Table {result['lut']}; {result['bn_batches']} search-train batches "
        f"for BN recalibration; {result['cpu_hours']:.2f} search CPU-hours; "
        f"{result['date']}.")
    return '\n'.join(lines) + '\n'


def ranking_options(signal: str,
                    lut: str,
                    options: Optional[Union[Dict[str, str],
                                            Sequence[str]]] = None,
                    search_seeds: Sequence[int] = (0, 1),
                    jobs: int = 1,
                    bn_batches: int = 20,
                    bootstrap_reps: int = 2000,
                    search_options: Sequence[str] = (),
                    work_dir: str = 'work_dirs/ranking_options',
                    quiet: bool = False) -> Dict[str, Any]:
    """Search once per option and seed, rank each supernet (the module's
    protocol).

    Args:
        signal (str): A finished signal check's work dir or records folder
            (its nets are the ones ranked; their space must be the
            options' space).
        lut (str): The latency table every search uses.
        options (dict | Sequence[str], optional): Option name -> search
            config with its own options, ``CONFIG[,KEY=VALUE...]``, or the
            command line's ``NAME=CONFIG[,KEY=VALUE...]`` pairs
            (:func:`parse_options`; default :data:`DEFAULT_OPTIONS`).
        search_seeds (Sequence[int]): One search per option and seed.
        jobs (int): Searches at once (each in its own process).
        bn_batches (int): Search-train batches of the BN recalibration.
        bootstrap_reps (int): Bootstrap replicates of the CIs.
        search_options (Sequence[str]): More ``key=value`` config options
            of every search and of the supernet the ranking builds from it
            (e.g. smaller loaders).
        work_dir (str): Where the searches and reports go.
        quiet (bool): Do not print the report.

    Returns:
        dict: What ``options.json`` holds.

    Raises:
        ConfigError: Bad options, seeds or paths.
    """
    options = dict(options if isinstance(options, dict) else
                   parse_options(options))
    if not options or not search_seeds:
        raise ConfigError('need at least one option and one search seed')
    if len(set(search_seeds)) != len(search_seeds):
        raise ConfigError(f'search seeds repeat: {list(search_seeds)}')
    check_spec_configs(options, 'option')
    if not osp.isfile(lut):
        raise ConfigError(f'latency table {lut!r} not found')
    wd = prepare_output_dir(work_dir, '--work-dir')
    start = time.time()
    lut = osp.abspath(lut)
    # seed-major: every option's first seed finishes before any second one
    # (a run stopped early has comparable rows); reported option-major
    runs = [(name, seed) for seed in search_seeds for name in options]

    def folder(run: Tuple[str, int]) -> str:
        return osp.join(wd, run[0], f's{run[1]}')

    specs = {name: split_spec(spec) for name, spec in options.items()}

    def do_search(run: Tuple[str, int]) -> str:
        config, extra = specs[run[0]]
        search(config, folder(run), run[1], lut,
               options=[*search_options, *extra], arch='last', reuse=True)
        ckpt = read_last_checkpoint(folder(run))
        if not ckpt or not osp.isfile(ckpt):
            raise RuntimeError(f'the search in {folder(run)} left no '
                               'checkpoint')
        return ckpt

    done = dict(zip(runs, parallel(jobs, do_search, runs)))
    runs = [(name, seed) for name in options for seed in search_seeds]
    checkpoints = [done[run] for run in runs]
    rows, rankings = [], []
    for run, ckpt in zip(runs, checkpoints):
        config, extra = specs[run[0]]
        rank_options = dict(
            parse_cfg_options([*search_options, *extra]) or {})
        rank_options['model.estimator.lut'] = lut
        ranking = supernet_ranking(
            config, ckpt, signal, bn_batches=bn_batches,
            out_dir=osp.join(folder(run), 'ranking'),
            bootstrap_reps=bootstrap_reps,
            cfg_options=rank_options, quiet=True)
        rankings.append(ranking)
        corr = ranking['correlations']
        rows.append(dict(
            option=run[0], search_seed=run[1], config=config,
            config_options=extra,
            checkpoint=ckpt,
            tau={k: corr[k]['kendall_tau'] for k in SCORES},
            ci={k: corr[k]['kendall_tau_ci'] for k in SCORES},
            spearman={k: corr[k]['spearman_rho'] for k in SCORES},
            archs=_arch_summary(folder(run)),
            cpu_hours=cpu_seconds(folder(run)) / 3600))
    summaries = {
        name: dict(
            spec=spec,
            mean_tau={
                k: _mean_tau([r for r in rows if r['option'] == name], k)
                for k in SCORES
            },
            cpu_hours=sum(r['cpu_hours'] for r in rows
                          if r['option'] == name))
        for name, spec in options.items()
    }
    first = rankings[0]
    result = dict(
        version=OPTIONS_VERSION, signal=osp.abspath(signal), lut=lut,
        search_seeds=list(search_seeds), search_options=list(search_options),
        bn_batches=bn_batches,
        nets=len(first['nets']), ceiling_seeds=first['ceiling_seeds'],
        ceiling=first['ceiling'], rows=rows, options=summaries,
        cpu_hours=sum(r['cpu_hours'] for r in rows),
        date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
        wall_s=time.time() - start)
    text = format_report(result)
    write_report(wd, 'options', result, text, echo=not quiet)
    return result


__all__ = [
    'DEFAULT_OPTIONS', 'OPTIONS_VERSION', 'REPORTED', 'format_report',
    'parse_options', 'ranking_options', 'split_spec'
]
