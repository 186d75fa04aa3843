"""Matplotlib pictures of a DenseNAS search (Agg backend, no display).

Every ``plot_*`` function returns a matplotlib ``Figure``; :func:`save_figure`
writes it as PNG, closes it and returns the RGB array (for
``Visualizer.add_image``).
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import matplotlib

matplotlib.use('Agg')  # noqa: E402  (headless: servers, CI, workers)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from densenas_mm.utils.io import atomic_path  # noqa: E402
from .arch_data import ArchState, graph_layout  # noqa: E402
from .label_layout import circle_box, place_labels  # noqa: E402

PATH_COLOR = '#d62728'
EDGE_COLOR = '#7f7f7f'


def short_op(name: str) -> str:
    """``mbconv_k3_t6`` -> ``k3t6``; ``skip_connect`` -> ``skip``."""
    if name.startswith('mbconv_'):
        return name[len('mbconv_'):].replace('_', '')
    return {'skip_connect': 'skip', 'basic_block': 'basic'}.get(name, name)


def stack_text(ops: Sequence[str], per_line: int = 3) -> str:
    """Stacking ops, runs of one op shortened (``basic x9``), at most
    ``per_line`` groups per line."""
    runs: List[List] = []
    for op in ops:
        if runs and runs[-1][0] == op:
            runs[-1][1] += 1
        else:
            runs.append([op, 1])
    groups = [short_op(op) + (f' x{n}' if n > 1 else '') for op, n in runs]
    return '\n'.join(','.join(groups[i:i + per_line])
                     for i in range(0, len(groups), per_line))


def save_figure(fig: Figure, path: str, dpi: int = 110) -> np.ndarray:
    """Write ``fig`` as PNG (atomically), close it, return its RGB array."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    with atomic_path(path, suffix='.png') as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches='tight')
    plt.close(fig)
    return rgb


def edge_widths(probs: Sequence[float], min_w: float = 0.6,
                max_w: float = 7.0) -> np.ndarray:
    """Line widths growing linearly with p in [0, 1]."""
    p = np.clip(np.asarray(probs, dtype=np.float64), 0.0, 1.0)
    return min_w + (max_w - min_w) * p


#: Node marker area (points^2) of the supernet picture.
NODE_SIZE = 900


def _edge_rad(x0: float, y0: float, x1: float, y1: float) -> float:
    """Curvature of an edge: edges within a column and long straight ones
    bend, so they pass beside the nodes in between."""
    if x0 == x1:
        return -0.45
    if abs(y1 - y0) < 1e-6 and x1 - x0 > 1:
        return 0.25
    return 0.0


def plot_supernet(state: ArchState, title: Optional[str] = None,
                  show_probs: bool = True) -> Figure:
    """The dense supernet graph with the derived path highlighted.

    Nodes are laid out by stage (columns) and labelled with width and
    resolution; edge widths grow with p_ij; the derived path is drawn in
    red, with each chosen block's head and stacking ops under its node.
    Edge labels (p_ij, up to 80 edges) are placed along their edges where
    no node, node text or other label covers them
    (:func:`~densenas_mm.visualization.label_layout.place_labels`; derived
    path first).
    """
    graph = state.graph
    pos = graph_layout(graph)
    probs = state.edge_probs()
    on_path = set(state.path_edges())
    ncols = max(x for x, _ in pos.values()) + 1
    nrows = max(abs(y) for _, y in pos.values()) * 2 + 1
    fig = plt.figure(figsize=(max(7.0, 1.9 * ncols), max(3.8,
                                                          1.7 * nrows + 1)))
    ax = fig.add_subplot(111)
    ax.set_xlim(-0.6, ncols - 0.4)
    ax.set_ylim(-nrows / 2 - 0.3, nrows / 2 + 0.8)
    ax.axis('off')
    widths = dict(zip(probs, edge_widths(list(probs.values()))))
    # derived path last, so it is drawn on top and labelled first
    edges = sorted(probs, key=lambda e: e in on_path)
    for src, dst in edges:
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        chosen = (src, dst) in on_path
        ax.add_patch(FancyArrowPatch(
            (x0, y0), (x1, y1),
            connectionstyle=f'arc3,rad={_edge_rad(x0, y0, x1, y1)}',
            arrowstyle='-|>', mutation_scale=10,
            lw=widths[(src, dst)],
            color=PATH_COLOR if chosen else EDGE_COLOR,
            alpha=0.95 if chosen else 0.35 + 0.5 * probs[(src, dst)],
            shrinkA=17, shrinkB=17, zorder=3 if chosen else 2))
    taken = _draw_nodes(ax, state, pos)
    for col in range(int(ncols)):
        nodes = [n for n, (x, _) in pos.items() if x == col]
        res = graph.resolutions[nodes[0]]
        taken.append(ax.text(
            col, nrows / 2 + 0.15, f'stage {graph.stages[nodes[0]]}\n'
            f'{res}x{res}', ha='center', va='bottom', fontsize=8,
            color='#333333').get_window_extent(fig.canvas.get_renderer()))
    if show_probs and len(probs) <= 80:
        labelled = edges[::-1]
        labels = [
            ax.text(0, 0, f'{probs[e]:.2f}', fontsize=6.5, ha='center',
                    va='center', zorder=4,
                    color=PATH_COLOR if e in on_path else '#444444',
                    bbox=dict(boxstyle='round,pad=0.1', fc='white',
                              ec='none', alpha=0.8)) for e in labelled
        ]
        place_labels(ax, labels,
                     [(pos[s], pos[d], _edge_rad(*pos[s], *pos[d]))
                      for s, d in labelled], taken)
    ax.set_title(title or 'DenseNAS supernet: derived path (red), '
                 'edge width = p_ij', fontsize=10)
    return fig


def _draw_nodes(ax, state: ArchState, pos: Dict) -> List:
    """Node circles, their labels and the chosen ops under path nodes;
    returns the pixel boxes they cover (for the edge labels to avoid)."""
    graph = state.graph
    renderer = ax.figure.canvas.get_renderer()
    radius = np.sqrt(NODE_SIZE) / 2 * ax.figure.dpi / 72
    path_nodes = set(state.path)
    taken = []
    for n, (x, y) in pos.items():
        chosen = n in path_nodes
        if n == 0:
            label = f'stem\n{graph.widths[n]}ch'
        elif n == graph.terminal:
            label = f'1x1\n{graph.widths[n]}ch'
        else:
            label = f'{n}\n{graph.widths[n]}ch'
        ax.scatter([x], [y], s=NODE_SIZE, zorder=5,
                   c='#ffe0e0' if chosen else 'white',
                   edgecolors=PATH_COLOR if chosen else '#555555',
                   linewidths=2.0 if chosen else 1.0)
        ax.text(x, y, label, ha='center', va='center', fontsize=7, zorder=6)
        taken.append(circle_box(ax, (x, y), radius))
        if n in state.ops:
            head, stack = state.ops[n]
            ops = short_op(head) + ('\n+' + stack_text(stack)
                                    if stack else '')
            text = ax.text(x, y - 0.27, ops, ha='center', va='top',
                           fontsize=7, color=PATH_COLOR, zorder=6,
                           fontweight='bold',
                           bbox=dict(boxstyle='round,pad=0.15', fc='white',
                                     ec='none', alpha=0.85))
            taken.append(text.get_window_extent(renderer))
    return taken


def _heatmap(ax, rows: List[str], state: ArchState, cols: List[str],
             title: str) -> None:
    data = np.array([state.op_probs[r] for r in rows])
    ax.imshow(data, cmap='viridis', vmin=0.0, vmax=1.0, aspect='auto')
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels([short_op(c) for c in cols], fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([('* ' if state.on_path(r) else '') + r
                        for r in rows], fontsize=7)
    for tick, r in zip(ax.get_yticklabels(), rows):
        if state.on_path(r):
            tick.set_color(PATH_COLOR)
    for i, row in enumerate(data):
        for j, v in enumerate(row):
            ax.text(j, i, f'{v:.2f}', ha='center', va='center', fontsize=6.5,
                    color='black' if v > 0.6 else 'white')
        best = int(np.argmax(row))
        ax.add_patch(plt.Rectangle((best - 0.5, i - 0.5), 1, 1, fill=False,
                                   ec=PATH_COLOR if state.on_path(rows[i])
                                   else 'white', lw=1.5))
    ax.set_title(title, fontsize=9)


def plot_alphas(state: ArchState, title: Optional[str] = None) -> Figure:
    """softmax(alpha) heatmaps: head layers and stacking layers.

    Rows on the derived architecture are marked ``*`` (red); the argmax of
    every row is boxed.
    """
    heads, layers = state.head_rows(), state.layer_rows()
    panels = [(r, t) for r, t in ((heads, 'head layers'),
                                  (layers, 'stacking layers')) if r]
    if not panels:
        fig = plt.figure(figsize=(4, 2))
        fig.text(0.5, 0.5, 'no searchable ops', ha='center')
        return fig
    n = max(len(r) for r, _ in panels)
    fig, axes = plt.subplots(1, len(panels),
                             figsize=(5.2 * len(panels), 1.2 + 0.26 * n),
                             squeeze=False)
    for ax, (rows, name) in zip(axes[0], panels):
        _heatmap(ax, rows, state, state.op_choices[rows[0]],
                 f'softmax(alpha): {name}')
    fig.suptitle(title or 'operation probabilities (* = derived arch)',
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_betas(state: ArchState, title: Optional[str] = None) -> Figure:
    """softmax(beta) of every source block: one bar group per block."""
    graph = state.graph
    srcs = sorted(state.route_probs)
    on_path = set(state.path_edges())
    fig = plt.figure(figsize=(max(5.0, 1.1 * len(srcs) + 2), 3.4))
    ax = fig.add_subplot(111)
    width = 0.8 / max((len(graph.outgoing[s]) for s in srcs), default=1)
    for i, src in enumerate(srcs):
        for k, (dst, p) in enumerate(zip(graph.outgoing[src],
                                         state.route_probs[src])):
            x = i - 0.4 + width * (k + 0.5)
            chosen = (src, dst) in on_path
            ax.bar(x, p, width * 0.9,
                   color=PATH_COLOR if chosen else '#9ecae1',
                   edgecolor='black' if chosen else 'none')
            ax.text(x, p + 0.01, f'{dst}', ha='center', va='bottom',
                    fontsize=7)
    ax.set_xticks(range(len(srcs)))
    ax.set_xticklabels([f'block {s}' for s in srcs], fontsize=8)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel('p_ij (target j above each bar)')
    ax.set_title(title or 'softmax(beta) per source block (red = derived '
                 'path)', fontsize=10)
    return fig


CURVE_PANELS = (
    ('latency (ms, LUT)', ('expected_latency', 'derived_latency')),
    ('cross-entropy', ('train_loss', 'arch_ce')),
    ('accuracy (%)', ('train_acc', 'val_top1')),
    ('entropy (nats)', ('alpha_entropy', 'beta_entropy')),
)


def plot_curves(history: List[Dict[str, float]],
                warmup_epochs: Optional[int] = None,
                title: Optional[str] = None) -> Figure:
    """Per-epoch curves: expected latency, CE, accuracy, alpha entropy."""
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.3))
    for ax, (name, keys) in zip(axes, CURVE_PANELS):
        for key in keys:
            pts = [(r['epoch'], r[key]) for r in history
                   if r.get(key) is not None]
            if pts:
                xs, ys = zip(*pts)
                ax.plot(xs, ys, marker='o', ms=3, label=key)
        if warmup_epochs:
            ax.axvline(warmup_epochs + 0.5, color='grey', ls='--', lw=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel('epoch', fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=7)
        if any(not ln.get_label().startswith('_') for ln in ax.lines):
            ax.legend(fontsize=7)
    fig.suptitle(title or 'search curves (dashed: end of warm-up)',
                 fontsize=10)
    fig.tight_layout()
    return fig
