"""The picture of a budget front: joint log-probability vs predicted cost.

Numbers only (no search-space objects): the Pareto-optimal nets of
:func:`densenas_mm.models.estimators.budget_derivation.pareto_front`, the
nets picked for the budgets and today's derivation (Viterbi + argmax).
"""
from typing import Dict, Optional, Sequence, Tuple

from matplotlib.figure import Figure

from .plots import PATH_COLOR, plt

Point = Tuple[float, float]


def plot_front(front: Sequence[Point],
               picks: Sequence[Dict[str, float]],
               today: Optional[Point] = None,
               unit: str = 'ms',
               title: Optional[str] = None) -> Figure:
    """Log-probability vs cost of every Pareto-optimal net (a step curve:
    the best net of each budget), the budget picks and today's derivation.

    Args:
        front (Sequence[tuple[float, float]]): (cost, logp), cheapest first.
        picks (Sequence[dict]): One per budget: ``budget``, ``cost``,
            ``logp``.
        today (tuple[float, float], optional): (cost, logp) of the
            Viterbi + argmax net.
        unit (str): Unit of the cost axis.
        title (str, optional): Figure title.

    Returns:
        Figure: The figure (save it with ``save_figure``).
    """
    fig, ax = plt.subplots(figsize=(7, 4.2))
    costs = [c for c, _ in front]
    logps = [lp for _, lp in front]
    ax.step(costs, logps, where='post', color='#7f7f7f', lw=1, zorder=1)
    ax.scatter(costs, logps, s=10, color='#1f77b4', zorder=2,
               label=f'Pareto-optimal nets ({len(front)})')
    for k, pick in enumerate(picks):
        ax.axvline(pick['budget'], color=PATH_COLOR, lw=0.7, ls=':',
                   zorder=0)
        ax.scatter([pick['cost']], [pick['logp']], s=60, marker='o',
                   facecolors='none', edgecolors=PATH_COLOR, lw=1.5,
                   zorder=3, label='best net per budget' if k == 0 else None)
    if today is not None:
        ax.scatter([today[0]], [today[1]], s=70, marker='x', color='black',
                   zorder=4, label='Viterbi + argmax (today)')
    ax.set_xlabel(f'predicted cost ({unit}, chained path cost)')
    ax.set_ylabel('joint log-probability (alpha + beta)')
    ax.grid(alpha=0.3)
    ax.legend(loc='lower right', fontsize=8)
    ax.set_title(title or 'one search, many budgets')
    return fig
