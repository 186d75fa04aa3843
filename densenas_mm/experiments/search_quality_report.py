"""The search-quality comparison's report: ranks, Markdown, figure, JSON.

What :func:`.search_quality.compare` writes from its nets
(:class:`~.runs.NetResult`):

- :func:`rank_summary`: the searched nets' top-1 against the random nets'
  (means, spreads, the searched nets' ranks among them);
- :func:`format_summary` and :func:`budget_text`: ``results.md`` (a table
  of the nets, the comparison, one line per budget search);
- :func:`results_figure` / :func:`plot_results`: ``results.png`` (LUT and
  measured latency against top-1, searched vs random vs budget searches);
- :func:`save_results`: ``results.json`` (every net and the summary).
"""
from dataclasses import asdict
from typing import Any, Dict, List, Sequence

import numpy as np

from densenas_mm.utils.io import dump_json_atomic
from .runs import NetResult


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


def save_results(results: Sequence[NetResult], summary: Dict[str, Any],
                 path: str, **extra: Any) -> None:
    """Everything as one JSON file."""
    dump_json_atomic(
        dict(nets=[asdict(r) for r in results], summary=summary, **extra),
        path)


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
