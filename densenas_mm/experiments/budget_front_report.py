"""The one-search-many-budgets report: Markdown and a figure.

:func:`format_report` and :func:`plot_report` read what
:func:`.budget_front_check.budget_front` returns (``budget_front.json``):

* per budget, one row per arm: the front net and the budget search's net
  with their predicted and measured latency and whether each is at most
  the budget, the random nets with their latency range and window; each
  arm's mean top-1 with its 95 % CI (hierarchical bootstrap: nets, then
  seeds; for a single net its seeds);
* per budget, front minus random and front minus budget search with their
  CIs, the front net's percentile among its random nets and the
  seed-matched pairs it wins;
* the compute: CPU-hours of the one search and its derivation (for every
  budget at once) against the budget searches (one per budget), and of the
  retrains;
* every net and every run (:func:`.search_vs_random_report.net_table`);
* the figure: top-1 against predicted latency (and measured latency when
  measured), one colour per budget (a dotted line at the budget), the
  front net (star), the budget search's net (triangle) and the random nets
  (dots), each with the 95 % t-interval of its mean over seeds.
"""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .paths import shown_path
from .search_vs_random_report import (latency_panels, machines_line,
                                     net_table, t_halfwidth)

#: Figure markers per arm.
MARKERS = dict(random=dict(marker='o', s=22, alpha=0.45),
               front=dict(marker='*', s=170, edgecolors='k', linewidths=0.6),
               budget_search=dict(marker='^', s=70, edgecolors='k',
                                  linewidths=0.6))
#: Arm labels.
LABELS = dict(front='front (one search)', budget_search='budget search',
              random='random')


def _ci(ci: Sequence[float]) -> str:
    return f'[{ci[0]:+.2f}, {ci[1]:+.2f}]'


def _lat(value: Optional[float], budget: float) -> str:
    """``5.412 (<= T)`` or ``5.712 (over)``; ``-`` when unknown."""
    if value is None:
        return '-'
    return f"{value:.3f} ({'<= T' if value <= budget else 'over'})"


def _mean(m: Optional[Dict[str, Any]]) -> str:
    if m is None:
        return '-'
    return (f"{m['mean']:.2f} [{m['ci'][0]:.2f}, {m['ci'][1]:.2f}] "
            f"({m['n_nets']} net{'s' if m['n_nets'] > 1 else ''}, "
            f"{m['n_runs']} runs)")


def _arm_rows(rec: Dict[str, Any],
              nets: Dict[str, Dict[str, Any]]) -> List[str]:
    """The budget's three rows (module doc)."""
    t = rec['budget']
    rows = []
    for arm in ('front', 'budget_search'):
        net = nets.get(rec[arm]) if rec[arm] else None
        if net is None:
            rows.append(f'| {t:g} | {LABELS[arm]} | - | - | - | - | - |')
            continue
        same = ' (= front)' if arm == 'budget_search' and rec['same_net'] \
            else ''
        rows.append(f"| {t:g} | {LABELS[arm]} | {net['name']}{same} | "
                    f"{net['path']} | {_lat(net['latency'], t)} | "
                    f"{_lat(net['measured'], t)} | "
                    f"{_mean(rec['means'][arm])} |")
    rand = [nets[n] for n in rec['random']]
    lats = [n['latency'] for n in rand]
    win = rec['window']
    where = '' if win is None else (
        f", window +-{100 * win['tolerance']:.1f} %" +
        (' (widened)' if win['steps'] > 1 else ''))
    rows.append(f"| {t:g} | random ({len(rand)} nets{where}) | - | - | "
                + (f'{min(lats):.3f}-{max(lats):.3f}' if lats else '-') +
                f" | - | {_mean(rec['means']['random'])} |")
    return rows


def _versus_random(vr: Optional[Dict[str, Any]],
                   percentile: bool = True) -> str:
    """Front minus random: the difference with its CI, the front net's
    percentile among its random nets (``-`` where pooled) and the pairs
    it wins; three cells."""
    if vr is None:
        return '- | - | -'
    shown = f"{vr['percentile']:.0f} %" if percentile else '-'
    return (f"{vr['diff']:+.2f} {_ci(vr['ci'])} | {shown} | "
            f"{100 * vr['pair_share']:.0f} % of {vr['pairs']}")


def _versus_budget(vb: Optional[Dict[str, Any]],
                   same_net: bool = False) -> str:
    """Front minus the budget search: the difference with its CI."""
    if vb is None:
        return '-'
    return (f"{vb['diff']:+.2f} {_ci(vb['ci'])}" +
            (' (the same net)' if same_net else ''))


def _diff_row(rec: Dict[str, Any]) -> str:
    """Front minus random and minus the budget search, for one budget."""
    versus_random = _versus_random(rec['front_minus_random'])
    versus_budget = _versus_budget(rec['front_minus_budget_search'],
                                   rec['same_net'])
    return f"| {rec['budget']:g} | {versus_random} | {versus_budget} |"


def _pooled_row(pooled: Optional[Dict[str, Any]]) -> List[str]:
    """The differences over all budgets at once (no row for a report
    made before they were kept, or with fewer than two front nets)."""
    if not pooled or len(pooled['budgets']) < 2:
        return []
    shown = ', '.join(f'{b:g}' for b in pooled['budgets'])
    return [f"| pooled ({shown}) | "
            f"{_versus_random(pooled['front_minus_random'], False)} | "
            f"{_versus_budget(pooled['front_minus_budget_search'])} |"]


def format_report(result: Dict[str, Any]) -> str:
    """The report as Markdown (module doc)."""
    s = result['settings']
    nets = {n['name']: n for n in result['nets']}
    cpu = result['cpu_hours']
    n_budgets = len(result['budgets'])
    lines = [
        f"search config `{shown_path(s['config'])}`, retrain config "
        f"`{shown_path(s['subnet_config'])}`, table `{shown_path(s['lut'])}`, pool "
        f"`{shown_path(result['pool'])}` ({result['pool_size']} nets); one search "
        f"(seed {s['search_seed']}, `{shown_path(result['front_dir'])}`"
        + (', reused' if result['front_search_reused'] else '') +
        f"), budgets {[b['budget'] for b in result['budgets']]} ms, window "
        f"{100 * s['window']:g} % below each budget (front nets and budget "
        f"searches); retrain seeds {result['retrain_seeds']}; "
        f"{s['n_random']} random nets per budget within "
        f"+-{100 * s['tolerance']:.1f} % of the front net's predicted "
        f"latency (widened up to +-{100 * s['max_tolerance']:.1f} %).",
        '',
        '| budget ms | arm | net | path | predicted ms | measured ms | '
        'top-1 mean [95 % CI] |',
        '|---|---|---|---|---|---|---|',
    ]
    for rec in result['budgets']:
        lines += _arm_rows(rec, nets)
    lines += [
        '',
        'Differences of mean top-1 (points, hierarchical bootstrap 95 % CI:'
        ' nets, then seeds):',
        '',
        '| budget ms | front minus random [95 % CI] | front percentile among'
        ' random | pairs won | front minus budget search [95 % CI] |',
        '|---|---|---|---|---|',
        *[_diff_row(rec) for rec in result['budgets']],
        *_pooled_row(result.get('pooled')),
        '',
        f"Compute: one search + derivation {cpu['one_search_total']:.2f} "
        f"CPU-hours for all {n_budgets} budgets (search "
        f"{cpu['search']:.2f}, derivation "
        f"{3600 * cpu['derivation']:.1f} CPU-seconds) against "
        f"{cpu['budget_searches_total']:.2f} CPU-hours of budget searches ("
        + ', '.join(f'{t} ms: {h:.2f}'
                    for t, h in cpu['budget_searches'].items()) +
        f"); retrains {cpu['retrains']:.2f} CPU-hours.",
        '',
        *net_table(result['nets'], result['retrain_seeds']),
        '',
        f"runs: {result['runs']} reported of {result['planned_runs']} "
        f"planned, {result['new_runs']} new in this call",
    ]
    if result.get('machines'):
        lines.append(machines_line(result['machines']))
    if result.get('command'):
        lines.append(f"command: `{result['command']}`")
    return '\n'.join(lines) + '\n'


def report_points(result: Dict[str, Any],
                  key: str) -> List[Dict[str, Any]]:
    """The figure's points for latency ``key`` (``'latency'`` or
    ``'measured'``): one per (budget, arm net) with ``budget_index``,
    ``arm`` (``front``, ``budget_search``, ``random``), ``x``, ``y`` (mean
    top-1) and ``err`` (95 % t half-width); nets without runs or without
    that latency are left out."""
    nets = {n['name']: n for n in result['nets']}
    points = []
    for k, rec in enumerate(result['budgets']):
        named = [('random', n) for n in rec['random']] + [
            (arm, rec[arm]) for arm in ('budget_search', 'front')]
        for arm, name in named:
            net = nets.get(name) if name else None
            if not net or not net['top1_seeds'] or net.get(key) is None:
                continue
            points.append(dict(budget_index=k, arm=arm, x=net[key],
                               y=float(np.mean(net['top1_seeds'])),
                               err=t_halfwidth(net['top1_seeds'])))
    return points


def plot_report(result: Dict[str, Any], path: str) -> None:
    """Write the figure (module doc) as a PNG to ``path``."""
    from matplotlib.lines import Line2D

    from densenas_mm.visualization import save_figure
    fig, colours = latency_panels(
        result, report_points, 'budget_index', MARKERS,
        [rec['budget'] for rec in result['budgets']])
    handles = [
        Line2D([], [], linestyle='none', color='0.3', label=LABELS[a],
               marker=style['marker'], markersize=12 if a == 'front' else 8)
        for a, style in MARKERS.items()
    ] + [
        Line2D([], [], linestyle=':', color=colours(k % 10),
               label=f"budget {rec['budget']:g} ms")
        for k, rec in enumerate(result['budgets'])
    ]
    # below the panels: a legend inside an axes can cover a point
    fig.legend(handles=handles, loc='lower center',
               ncol=min(len(handles), 6), fontsize=8, frameon=False)
    fig.suptitle('one search, many budgets: front nets vs budget searches vs '
                 'latency-matched random nets (error bars: 95 % t-interval '
                 'over retrain seeds)', fontsize=9)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    save_figure(fig, path)


__all__ = ['LABELS', 'MARKERS', 'format_report', 'plot_report',
           'report_points']
