"""The searched-vs-random protocol's report: Markdown and a figure.

:func:`format_report` and :func:`plot_report` read what
:func:`.search_vs_random.search_vs_random` returns (its ``results.json``):

* per search seed, each arm's net (searched, RS-WS, hand-designed) with
  its predicted and measured latency, its mean top-1 over the retrain
  seeds, the difference to its matched random nets with the hierarchical
  bootstrap 95 % CI, its percentile among them and the seed-matched pairs
  it wins; the random nets' mean and the latency window used;
* pooled over the search seeds, each arm minus random, searched minus
  RS-WS and searched minus hand-designed, with CIs;
* each extra searched arm (:mod:`.searched_arms`): its spec, per search
  seed its net against its own random nets (the same columns), pooled the
  arm minus its random nets and searched minus the arm, and its search
  CPU-hours;
* every net and every run (the top-1 of each retrain seed);
* the figure: top-1 against predicted latency and against measured
  latency (when measured), one colour per search seed, the searched net,
  its random nets, the RS-WS and hand-designed nets and each extra arm's
  net (its own marker; its random nets as dots), each with the 95 %
  t-interval of its mean over seeds.
"""
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .paths import shown_path

#: Arm labels of the report.
ARM_LABELS = dict(searched='searched', rsws='RS-WS', hand='hand-designed',
                  random='random')
#: Figure markers per arm.
MARKERS = dict(random=dict(marker='o', s=22, alpha=0.45),
               searched=dict(marker='*', s=170, edgecolors='k',
                             linewidths=0.6),
               rsws=dict(marker='D', s=55, edgecolors='k', linewidths=0.6),
               hand=dict(marker='s', s=55, edgecolors='k', linewidths=0.6))
#: Head of the per-search-seed arm tables.
ARM_TABLE_HEAD = (
    '| search seed | arm | net | predicted ms | measured ms | top-1 mean +- '
    'sd | minus its random nets [95 % CI] | percentile | pairs won |',
    '|---|---|---|---|---|---|---|---|---|')
#: Markers of the extra searched arms, in turn.
EXTRA_MARKERS = ('^', 'v', 'P', 'X', 'h', '<', '>')


def _ci(ci: Sequence[float]) -> str:
    return f'[{ci[0]:+.2f}, {ci[1]:+.2f}]'


def _ms(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.3f}'


def _mean_sd(values: Sequence[float]) -> str:
    if not values:
        return '-'
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return f'{np.mean(values):.2f} +- {sd:.2f} (n={len(values)})'


def _arm_row(search_seed: int, label: str, name: Optional[str],
             nets: Dict[str, Dict[str, Any]],
             c: Optional[Dict[str, Any]]) -> str:
    """One arm's net of a search seed against its random nets."""
    if name is None:
        return f'| {search_seed} | {label} | - | - | - | - | - | - | - |'
    net = nets[name]
    versus = ('- | - | -' if c is None else
              f"{c['diff']:+.2f} {_ci(c['ci'])} | {c['percentile']:.0f} % | "
              f"{100 * c['pair_share']:.0f} % of {c['pairs']}")
    extra = ''
    if net.get('supernet_top1') is not None and label == ARM_LABELS['rsws']:
        extra = f" (supernet {net['supernet_top1']:.1f} %)"
    return (f"| {search_seed} | {label} | {name}{extra} | "
            f"{_ms(net['latency'])} | {_ms(net['measured'])} | "
            f"{_mean_sd(net['top1_seeds'])} | {versus} |")


def _random_row(slot: Dict[str, Any], nets: Dict[str, Dict[str, Any]],
                label: str = 'random') -> str:
    """A search seed's random nets: latency range, window, mean +- SD."""
    rand = [nets[n] for n in slot.get('random', [])]
    means = [float(np.mean(n['top1_seeds'])) for n in rand
             if n['top1_seeds']]
    win = slot.get('window')
    where = ('' if win is None else
             f", window +-{100 * win['tolerance']:.1f} %"
             + (' (widened)' if win['steps'] > 1 else ''))
    lats = [n['latency'] for n in rand]
    lat_text = (f'{min(lats):.3f}-{max(lats):.3f}' if lats else '-')
    return (f"| {slot['search_seed']} | {label} ({len(rand)} nets{where}) | "
            f"- | {lat_text} | - | {_mean_sd(means)} of net means | - | - "
            '| - |')


def _pooled_line(label: str, p: Optional[Dict[str, Any]]) -> str:
    """An arm minus its random nets, pooled over the search seeds."""
    if p is None:
        return f'- {label} minus random: no finished nets'
    return (f"- {label} minus random: {p['diff']:+.2f} points "
            f"{_ci(p['ci'])} ({p['n_nets']} nets vs {p['n_random']} "
            f"random nets); seed-matched pairs won "
            f"{100 * p['pair_share']:.0f} % of {p['pairs']}")


def _between_line(label: str, b: Optional[Dict[str, Any]]) -> str:
    """The searched arm minus another arm."""
    return f'- searched minus {label}: ' + (
        'no finished pairs' if b is None else
        f"{b['diff']:+.2f} points {_ci(b['ci'])} ({b['n_nets']} search "
        'seeds)')


def _extra_arm_lines(name: str, rec: Dict[str, Any],
                     nets: Dict[str, Dict[str, Any]]) -> List[str]:
    """An extra searched arm's section (module doc)."""
    lines = [
        '', f"Extra searched arm `{name}`: `{rec['spec']}` (search CPU-hours "
        f"{rec['cpu_hours']:.2f}); each net against the random nets of its "
        'own latency window:', '',
        *ARM_TABLE_HEAD,
    ]
    for k, slot in enumerate(rec['slots']):
        lines.append(_arm_row(slot['search_seed'], name, slot['net'], nets,
                              rec['comparison']['per_seed'][k]))
        lines.append(_random_row(slot, nets, f'random of {name}'))
    lines += ['', _pooled_line(name, rec['comparison']['pooled']),
              _between_line(name, rec['searched_minus'])]
    return lines


def net_table(nets: Sequence[Dict[str, Any]],
              seeds: Sequence[int]) -> List[str]:
    """Every net (``results.json``'s ``nets``) with its roles, path,
    latencies and the top-1 of every retrain seed, as Markdown rows."""
    lines = [
        '| net | roles | path | predicted ms | measured ms | ' +
        ' | '.join(f'seed {x}' for x in seeds) + ' | mean +- sd |',
        '|---|---|---|---|---|' + '---|' * len(seeds) + '---|',
    ]
    for net in nets:
        by_seed = dict(zip(net['seeds'], net['top1_seeds']))
        lines.append(
            f"| {net['name']} | {', '.join(net['roles'])} | {net['path']} | "
            f"{_ms(net['latency'])} | {_ms(net['measured'])} | " +
            ' | '.join('-' if x not in by_seed else f'{by_seed[x]:.2f}'
                       for x in seeds) +
            f" | {_mean_sd(net['top1_seeds'])} |")
    return lines


def machines_line(machines: Optional[Dict[str, int]]) -> str:
    """Which CPUs ran the reported retrains, most runs first (empty for a
    result from before they were counted)."""
    if not machines:
        return ''
    return 'retrains ran on: ' + '; '.join(
        f'{name} ({n})'
        for name, n in sorted(machines.items(), key=lambda kv: -kv[1]))


def format_report(result: Dict[str, Any]) -> str:
    """The report as Markdown (module doc)."""
    s = result['settings']
    nets = {n['name']: n for n in result['nets']}
    seeds = result['retrain_seeds']
    lines = [
        f"search config `{s['config']}` (net: `arch/{s['arch']}.yaml`), "
        f"retrain config `{s['subnet_config']}`, table `{s['lut']}` "
        f"(matched on `{s['latency_key']}`), pool `{shown_path(result['pool'])}` "
        f"({result['pool_size']} nets); search seeds "
        f"{list(s['search_seeds'])}, retrain seeds {seeds}, "
        f"{s['n_random']} random nets per searched net within "
        f"+-{100 * s['tolerance']:.1f} % (widened up to "
        f"+-{100 * s['max_tolerance']:.1f} %).",
        '',
        *ARM_TABLE_HEAD,
    ]
    comps = result['comparisons']
    for k, slot in enumerate(result['slots']):
        for arm in ('searched', 'rsws', 'hand'):
            lines.append(_arm_row(slot['search_seed'], ARM_LABELS[arm],
                                  slot.get(arm), nets,
                                  comps[arm]['per_seed'][k]))
        lines.append(_random_row(slot, nets))
    lines += ['', 'Pooled over the search seeds (difference of the means '
              'of net means, hierarchical bootstrap 95 % CI: nets, then '
              'seeds):']
    for arm in ('searched', 'rsws', 'hand'):
        lines.append(_pooled_line(ARM_LABELS[arm], comps[arm]['pooled']))
    for key, b in result['between'].items():
        lines.append(_between_line(ARM_LABELS[key.split('-', 1)[1]], b))
    for name, rec in result.get('extra_arms', {}).items():
        lines += _extra_arm_lines(name, rec, nets)
    lines += ['', *net_table(result['nets'], seeds)]
    cpu = result['cpu_hours']
    lines += [
        '',
        f"runs: {result['runs']} reported of {result['planned_runs']} "
        f"planned, {result['new_runs']} new in this call; CPU-hours "
        f"{cpu['total']:.2f} (searches {cpu['searches']:.2f}, RS-WS "
        f"supernet + scoring {cpu['rsws']:.2f}, retrains "
        f"{cpu['retrains']:.2f}" + (
            f", extra arms' searches {cpu['extra_searches']:.2f})"
            if result.get('extra_arms') else ')'),
    ]
    if result.get('machines'):
        lines.append(machines_line(result['machines']))
    if result.get('command'):
        lines.append(f"command: `{result['command']}`")
    return '\n'.join(lines) + '\n'


def t_halfwidth(values: Sequence[float], level: float = 0.95) -> float:
    """Half-width of the t-interval of the mean (0 for one value)."""
    if len(values) < 2:
        return 0.0
    from scipy.stats import t
    sd = float(np.std(values, ddof=1))
    return float(t.ppf(0.5 + level / 2, len(values) - 1) * sd /
                 np.sqrt(len(values)))


def report_points(result: Dict[str, Any],
                  key: str) -> List[Dict[str, Any]]:
    """The figure's points for latency ``key`` (``'latency'`` or
    ``'measured'``): one per (search seed, arm net) with ``seed_index``,
    ``arm`` (``random``, ``rsws``, ``hand``, ``searched`` or an extra arm's
    name), ``x``, ``y`` (mean top-1) and ``err`` (95 % t half-width); nets
    without runs or without that latency are left out."""
    nets = {n['name']: n for n in result['nets']}
    named = []
    for k, slot in enumerate(result['slots']):
        named += [(k, 'random', n) for n in slot.get('random', [])] + [
            (k, arm, slot.get(arm)) for arm in ('rsws', 'hand', 'searched')]
    for arm, rec in result.get('extra_arms', {}).items():
        for k, slot in enumerate(rec['slots']):
            named += [(k, 'random', n) for n in slot['random']]
            named.append((k, arm, slot['net']))
    points = []
    for k, arm, name in named:
        net = nets.get(name) if name else None
        if not net or not net['top1_seeds'] or net.get(key) is None:
            continue
        points.append(dict(seed_index=k, arm=arm, x=net[key],
                           y=float(np.mean(net['top1_seeds'])),
                           err=t_halfwidth(net['top1_seeds'])))
    return points


def markers(result: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Arm -> scatter style: :data:`MARKERS`, then each extra arm's (the
    searched star's size, :data:`EXTRA_MARKERS` in turn)."""
    out = dict(MARKERS)
    for i, name in enumerate(result.get('extra_arms', {})):
        out[name] = dict(MARKERS['searched'],
                         marker=EXTRA_MARKERS[i % len(EXTRA_MARKERS)], s=110)
    return out


def latency_panels(result: Dict[str, Any],
                   points_of: Callable[[Dict[str, Any], str],
                                       List[Dict[str, Any]]],
                   group: str, styles: Dict[str, Dict[str, Any]],
                   guides: Sequence[float] = ()) -> Tuple[Any, Any]:
    """A figure of top-1 against predicted latency, and against measured
    latency when a net of ``result['nets']`` was measured: the points of
    ``points_of(result, key)`` with their error bars, coloured by their
    ``group`` index, styled by ``styles[arm]``; ``guides[k]`` a dotted
    vertical line in group ``k``'s colour.

    Returns:
        tuple: The figure and the colour map (group index -> colour).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    panels = [('latency', 'predicted latency (ms)')]
    if any(n.get('measured') is not None for n in result['nets']):
        panels.append(('measured', 'measured latency (ms)'))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4),
                             squeeze=False)
    colours = plt.get_cmap('tab10')
    for ax, (key, label) in zip(axes[0], panels):
        for k, x in enumerate(guides):
            ax.axvline(x, color=colours(k % 10), ls=':', lw=1)
        for p in points_of(result, key):
            colour = colours(p[group] % 10)
            ax.errorbar(p['x'], p['y'], yerr=p['err'], fmt='none',
                        ecolor=colour, alpha=0.5, lw=0.8)
            ax.scatter(p['x'], p['y'], color=colour, zorder=3,
                       **styles[p['arm']])
        ax.set_xlabel(label)
        ax.set_ylabel('test top-1 (%), mean over retrain seeds')
        ax.grid(alpha=0.3)
    return fig, colours


def plot_report(result: Dict[str, Any], path: str) -> None:
    """Write the figure (module doc) as a PNG to ``path``."""
    from matplotlib.lines import Line2D

    from densenas_mm.visualization import save_figure
    styles = markers(result)
    fig, colours = latency_panels(result, report_points, 'seed_index',
                                  styles)
    extras = tuple(result.get('extra_arms', {}))
    handles = [
        Line2D([], [], linestyle='none', color='0.3',
               label=ARM_LABELS.get(a, a),
               markersize=8 if a not in ('searched', *extras) else 12,
               marker=style['marker']) for a, style in styles.items()
    ] + [
        Line2D([], [], linestyle='none', marker='o', color=colours(k % 10),
               label=f"search seed {slot['search_seed']}")
        for k, slot in enumerate(result['slots'])
    ]
    # below the panels: a legend inside an axes can cover a point
    fig.legend(handles=handles, loc='lower center',
               ncol=min(len(handles), 8), fontsize=8, frameon=False)
    fig.suptitle('searched vs latency-matched random nets (error bars: 95 % '
                 't-interval over retrain seeds)', fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    save_figure(fig, path)


__all__ = [
    'ARM_LABELS', 'ARM_TABLE_HEAD', 'EXTRA_MARKERS', 'MARKERS',
    'format_report', 'latency_panels', 'markers', 'net_table', 'plot_report',
    'report_points', 't_halfwidth'
]
