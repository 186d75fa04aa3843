"""Supernet ranking: does the supernet rank nets as retraining does?

For the nets of a finished signal check (:mod:`.signal_check`: ``K`` nets,
each retrained with ``S`` seeds) and a search checkpoint of the same space,
every net gets these **scores** (issue 21, item 3):

- the supernet's **top-1 and loss on the search's validation split** (the
  search config's ``val_dataloader``: search-val; a config whose
  ``val_dataloader`` is its ``test_dataloader`` is refused) with the net's
  choices put in play (``mutator.set_choices(arch.fix_subnet)``, as
  ``derive()`` does) and the inherited weights, three ways:

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
``ranking.png`` in the output folder (atomic writes). The command line:
``tools/benchmark/supernet_ranking.py``.
"""
import json
import os.path as osp
import time
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from densenas_mm.utils.io import (dump_json_atomic, prepare_output_dir,
                                  write_text_atomic)
from densenas_mm.utils.options import ConfigError
from .rank_stats import (STATISTICS, rank_bootstrap, rank_correlations,
                         seed_ceiling)

#: Format version of ``ranking.json``.
RANKING_VERSION = 1
#: The supernet evaluation modes (BN statistics), in report order.
BN_MODES = ('recalibrated', 'inherited', 'batch_stats')
#: Every score: key -> what it is (higher is better for each).
SCORES = {
    'top1_recalibrated': 'supernet top-1, BN recalibrated',
    'top1_inherited': 'supernet top-1, inherited BN statistics',
    'top1_batch_stats': 'supernet top-1, batch BN statistics (search val)',
    'neg_loss_recalibrated': '-loss, BN recalibrated',
    'neg_loss_inherited': '-loss, inherited BN statistics',
    'neg_loss_batch_stats': '-loss, batch BN statistics',
    'logp': 'path log-probability (alpha, beta)',
}


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


# -------------------------------------------------------------- scoring
def _loader(cfg_loader: Any) -> Any:
    """A dataloader of a config entry, in this process (no workers)."""
    from mmengine.runner import Runner
    loader = dict(cfg_loader)
    loader.update(num_workers=0, persistent_workers=False)
    return Runner.build_dataloader(loader, seed=0)


class SupernetScorer:
    """A search checkpoint's supernet, scoring nets of its space.

    Args:
        config (str): The search config (model, ``train_dataloader`` =
            search-train, ``val_dataloader`` = search-val).
        checkpoint (str): A search checkpoint of that config.
        bn_batches (int): Search-train batches of the BN recalibration.
        cfg_options (dict, optional): Overrides of the config.

    Raises:
        RankingInputError: ``bn_batches < 1``, or a config that validates on
            its test loader.
        CheckpointError: A checkpoint that is missing, unreadable or not of
            this config's search model.
    """

    def __init__(self, config: str, checkpoint: str, bn_batches: int = 20,
                 cfg_options: Optional[Dict[str, Any]] = None) -> None:
        from densenas_mm.apis.model_io import build_classifier, load_config
        from densenas_mm.utils.checkpoint import (check_state_fits,
                                                  read_checkpoint, state_of)
        if bn_batches < 1:
            raise RankingInputError(
                f'--bn-batches must be >= 1, got {bn_batches}')
        cfg = load_config(config, cfg_options)
        if cfg.get('val_dataloader') is None or (
                cfg.get('test_dataloader') is not None
                and cfg.val_dataloader == cfg.test_dataloader):
            raise RankingInputError(
                f'{config}: its val_dataloader is missing or is its '
                'test_dataloader; the supernet scores must come from the '
                "search's validation split (search-val), never the test "
                'split: pass a search config')
        state = state_of(read_checkpoint(checkpoint), checkpoint)
        # no cost term: scoring reads no latency table
        cfg.model.estimator = None
        cfg.model.cost_loss = None
        model = build_classifier(cfg, None, init=False)
        check_state_fits(model.state_dict(), state, checkpoint,
                         f'the search model of {config}')
        model.load_state_dict(state, strict=True)
        self.model = model.eval()
        self.config = config
        self.checkpoint = checkpoint
        self.bn_batches = bn_batches
        self._bn_state = self._bn_buffers()
        self._val = _loader(cfg.val_dataloader)
        self._recal = self._first_batches(_loader(cfg.train_dataloader),
                                          bn_batches)

    # the model's pieces
    @property
    def mutator(self) -> Any:
        """The dense-routing mutator (alpha, beta, the choice API)."""
        return self.model.mutator

    @property
    def bn_images(self) -> int:
        """Images of the BN recalibration batches."""
        return sum(len(b['data_samples']) for b in self._recal)

    def _bn_buffers(self) -> Dict[str, torch.Tensor]:
        return {k: v.clone() for k, v in self.model.state_dict().items()
                if k.rsplit('.', 1)[-1] in ('running_mean', 'running_var',
                                            'num_batches_tracked')}

    def restore_bn(self) -> None:
        """The checkpoint's BN running statistics again."""
        self.model.load_state_dict(self._bn_state, strict=False)

    def _first_batches(self, loader: Any, count: int) -> List[Dict]:
        batches = []
        for batch in loader:
            batches.append(self.model.data_preprocessor(batch, False))
            if len(batches) == count:
                break
        if len(batches) < count:
            raise RankingInputError(
                f'--bn-batches {count}: the search-train loader has only '
                f'{len(batches)} batches')
        return batches

    def logits(self, data: Dict[str, Any]) -> torch.Tensor:
        """Class scores of a preprocessed batch for the choices in play."""
        arch = self.model.architecture
        return arch.head(arch.extract_feat(data['inputs']))

    def _val_batches(self) -> Iterator[Dict[str, Any]]:
        for batch in self._val:
            yield self.model.data_preprocessor(batch, False)

    @torch.no_grad()
    def evaluate(self) -> Dict[str, float]:
        """Top-1 (%) and mean cross-entropy on search-val for the choices in
        play, the model as it is."""
        correct, loss, count = 0, 0.0, 0
        for data in self._val_batches():
            scores = self.logits(data)
            target = torch.cat([d.gt_label.label
                                for d in data['data_samples']])
            correct += int((scores.argmax(1) == target).sum())
            loss += float(F.cross_entropy(scores, target, reduction='sum'))
            count += len(target)
        return dict(top1=100.0 * correct / count, loss=loss / count,
                    images=count)

    def put_in_play(self, arch: Any) -> None:
        """Check ``arch`` against the supernet's space and fix its choices
        (what ``derive()`` does for the derived net)."""
        from densenas_mm.structures import check_arch_in_space
        check_arch_in_space(arch, self.mutator.space, self.mutator.graph)
        self.mutator.set_choices(arch.fix_subnet)

    def score(self, arch: Any) -> Dict[str, Any]:
        """Every supernet score of one net.

        Returns:
            dict: per BN mode of :data:`BN_MODES` its :meth:`evaluate`
            result, and ``logp``. The model's BN statistics are the
            checkpoint's again afterwards.
        """
        from densenas_mm.models.algorithms import (batch_stat_bn,
                                                   recalibrate_bn)
        from densenas_mm.models.estimators.budget_derivation import \
            arch_logp
        self.put_in_play(arch)
        self.restore_bn()
        self.model.eval()
        out: Dict[str, Any] = dict(inherited=self.evaluate())
        with batch_stat_bn(self.model.architecture):
            out['batch_stats'] = self.evaluate()
        recalibrate_bn(self.model.architecture, self.logits, self._recal)
        out['recalibrated'] = self.evaluate()
        self.restore_bn()
        params = {k: v.detach() for k, v in self.mutator.arch_params.items()}
        out['logp'] = float(arch_logp(self.mutator.space, self.mutator.graph,
                                      params, arch))
        return out


def score_values(net: Dict[str, Any]) -> Dict[str, float]:
    """The :data:`SCORES` of one scored net (higher is better)."""
    out = {}
    for mode in BN_MODES:
        out[f'top1_{mode}'] = net['supernet'][mode]['top1']
        out[f'neg_loss_{mode}'] = -net['supernet'][mode]['loss']
    out['logp'] = net['logp']
    return out


# -------------------------------------------------------------- reports
def _ci(pair: Sequence[float]) -> str:
    return f'{pair[0]:+.2f} to {pair[1]:+.2f}'


def format_report(result: Dict[str, Any]) -> str:
    """Markdown: the nets, the correlations, the ceiling."""
    lines = [
        '| net | path | retrained top-1 mean +- sd | supernet top-1 '
        'recalibrated | inherited BN | batch BN | logp |',
        '|---|---|---|---|---|---|---|'
    ]
    for n in result['nets']:
        sd = float(np.std(n['top1_seeds'], ddof=1)) if len(
            n['top1_seeds']) > 1 else 0.0
        s = n['supernet']
        lines.append(
            f"| {n['name']} | {n['path']} | {n['top1_mean']:.2f} +- "
            f"{sd:.2f} | {s['recalibrated']['top1']:.2f} | "
            f"{s['inherited']['top1']:.2f} | {s['batch_stats']['top1']:.2f}"
            f" | {n['logp']:.3f} |")
    c = result['ceiling']
    lines += [
        '',
        f"{len(result['nets'])} nets; score vs mean retrained top-1 "
        f"({result['bootstrap']['level']:.0%} CIs: "
        f"{result['bootstrap']['reps']} bootstrap resamples of the nets)",
        '',
        "| score | Kendall's tau (CI) | p | Spearman's rho (CI) | p |",
        '|---|---|---|---|---|',
    ]
    for key, r in result['correlations'].items():
        lines.append(
            f"| {SCORES[key]} | {r['kendall_tau']:+.3f} "
            f"({_ci(r['kendall_tau_ci'])}) | {r['kendall_p']:.2g} | "
            f"{r['spearman_rho']:+.3f} ({_ci(r['spearman_rho_ci'])}) | "
            f"{r['spearman_p']:.2g} |")
    if c is not None:
        for kind, what in (
                ('pairs', 'one seed vs another seed (mean over the '
                 f"{c['seeds'] * (c['seeds'] - 1) // 2} seed pairs)"),
                ('leave_one_out', 'one seed vs the mean of the other '
                 f"{c['seeds'] - 1} (mean over the {c['seeds']} seeds)")):
            r = c[kind]
            lines.append(
                f"| ceiling: {what} | {r['kendall_tau']:+.3f} "
                f"({_ci(r['kendall_tau_ci'])}) | | {r['spearman_rho']:+.3f} "
                f"({_ci(r['spearman_rho_ci'])}) | |")
        m = c['model']
        lines += [
            '',
            f"- ceiling of the random-effects model (seeds "
            f"{result['ceiling_seeds']}): a perfect score of the true "
            "per-net effect reaches Pearson r = sqrt(var_arch / (var_arch + "
            f"var_seed / {c['seeds']})) = {m['pearson']:.3f} with the "
            f"{c['seeds']}-seed means (var_arch {m['var_arch']:.4f}, "
            f"var_seed {m['var_seed']:.4f})",
        ]
    else:
        lines += ['', '- no seed ceiling: fewer than 2 seeds common to '
                  'every net']
    lines.append(
        "- Kendall's tau of each score vs the recalibrated supernet top-1 "
        "(the supernet's own order; no retrain noise): " + '; '.join(
            f'{SCORES[k]}: {v:+.3f}'
            for k, v in result['agreement_with_recalibrated'].items()))
    lines += [
        f"- supernet: {result['config']}, {result['checkpoint']}; search-val"
        f" {result['val_images']} images; BN recalibration on "
        f"{result['bn_batches']} search-train batches "
        f"({result['bn_images']} images)",
        f"- retrains: {result['signal']}",
        f"- {result['wall_s']:.0f} s wall, {result['cpu_s']:.0f} CPU-s "
        f"({result['date']})",
    ]
    return '\n'.join(lines) + '\n'


def ranking_figure(result: Dict[str, Any]):
    """Mean retrained top-1 (seed SD as error bars) vs the recalibrated and
    inherited supernet top-1 and vs the path log-probability."""
    from densenas_mm.visualization.plots import plt
    panels = ('top1_recalibrated', 'top1_inherited', 'logp')
    fig, axes = plt.subplots(1, len(panels), figsize=(12, 3.8), sharey=True)
    ys = [n['top1_mean'] for n in result['nets']]
    sds = [float(np.std(n['top1_seeds'], ddof=1)) if len(n['top1_seeds']) > 1
           else 0.0 for n in result['nets']]
    for ax, key in zip(axes, panels):
        xs = [score_values(n)[key] for n in result['nets']]
        ax.errorbar(xs, ys, yerr=sds, fmt='o', color='#1f77b4', ecolor='#aaa',
                    ms=5, capsize=2)
        r = result['correlations'][key]
        ax.set_title(f"tau {r['kendall_tau']:+.2f} "
                     f"({_ci(r['kendall_tau_ci'])})", fontsize=9)
        unit = ' (%, search-val)' if key.startswith('top1') else ''
        ax.set_xlabel(SCORES[key] + unit, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel('retrained top-1, mean of seeds (%)')
    c = result['ceiling']
    ceiling = ('' if c is None else
               f"; seed-vs-seed tau {c['pairs']['kendall_tau']:+.2f}")
    fig.suptitle(f'supernet score vs retraining, {len(ys)} nets (bars: SD '
                 f'over retrain seeds){ceiling}', fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- study
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
        RankingInputError: Bad signal folder or options.
        CheckpointError: A checkpoint not of this config.
        ArchError: A net that is not of the checkpoint's space.
    """
    if bootstrap_reps < 10:
        raise RankingInputError(
            f'--bootstrap-reps must be >= 10, got {bootstrap_reps}')
    out_dir = prepare_output_dir(out_dir, '--out-dir')
    start, cpu0 = time.time(), _cpu_seconds()
    sig = read_signal(signal)
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
    dump_json_atomic(result, osp.join(out_dir, 'ranking.json'))
    write_text_atomic(text, osp.join(out_dir, 'ranking.md'))
    if not quiet:
        print(text, end='')
    return result


__all__ = [
    'BN_MODES', 'RANKING_VERSION', 'SCORES', 'RankingInputError',
    'SupernetScorer', 'common_seed_table', 'format_report', 'ranking_figure',
    'read_signal', 'score_values', 'supernet_ranking'
]
