"""The supernet-ranking study's report: the Markdown table of nets,
correlations and ceilings (``ranking.md``) and the figure of retrained
top-1 against the supernet scores (``ranking.png``), from the result
:func:`.supernet_ranking.supernet_ranking` writes to ``ranking.json``."""
from typing import Any, Dict, Sequence

import numpy as np

from .supernet_scorer import SCORES, score_values


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


__all__ = ['format_report', 'ranking_figure']
