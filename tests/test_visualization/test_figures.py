"""The pictures render without hidden text, with the widths they promise.

Every figure is rendered with the Agg backend and checked in pixels: no two
text boxes of the supernet picture overlap and no label sits on a node
circle; edge widths follow p_ij (1 on a derived arch's path, 0 elsewhere);
epoch ticks are integers; the search-quality legend covers no point.
"""
import itertools

import numpy as np
import pytest
import torch
from matplotlib.patches import FancyArrowPatch

from densenas_mm.experiments.runs import NetResult
from densenas_mm.experiments.search_quality_report import results_figure
from densenas_mm.search_space import SpaceGraph
from densenas_mm.search_space.loading import load_preset
from densenas_mm.search_space.naming import (head_alias, layer_alias,
                                             route_alias)
from densenas_mm.structures import derive_arch
from densenas_mm.visualization import (arch_state_from_arch,
                                       arch_state_from_params, plot_curves,
                                       plot_supernet)
from densenas_mm.visualization.label_layout import arc3_point, overlap_area
from densenas_mm.visualization.plots import (NODE_SIZE, edge_widths,
                                             stack_text)


def random_params(space, seed: int):
    """Seeded random alpha/beta logits for every alias of ``space``."""
    graph = SpaceGraph(space)
    gen = torch.Generator().manual_seed(seed)
    params = {}
    for src in graph.nodes:
        if src != graph.terminal and len(graph.outgoing[src]) > 1:
            params[route_alias(src)] = torch.randn(
                len(graph.outgoing[src]), generator=gen) * 2
    for e in graph.head_edges:
        params[head_alias(e.dst, e.src)] = torch.randn(
            len(space.head_ops), generator=gen)
    for b in graph.blocks:
        for k in range(graph.num_layers[b]):
            params[layer_alias(b, k)] = torch.randn(
                len(space.stack_ops), generator=gen)
    return params


def text_boxes(fig):
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts]


def node_circles(fig, state):
    """Pixel centre and radius of every node marker."""
    ax = fig.axes[0]
    radius = np.sqrt(NODE_SIZE) / 2 * fig.dpi / 72
    offsets = [c.get_offsets()[0] for c in ax.collections]
    return [(ax.transData.transform(xy), radius) for xy in offsets]


def circle_hits_box(centre, radius, box) -> bool:
    nx = min(max(centre[0], box.x0), box.x1)
    ny = min(max(centre[1], box.y0), box.y1)
    return (nx - centre[0])**2 + (ny - centre[1])**2 < radius**2


@pytest.mark.parametrize('preset', [
    'densenas_demo_32', 'densenas_mbv2_224', 'densenas_resnet_224'
])
@pytest.mark.parametrize('seed', [0, 1])
def test_supernet_texts_do_not_overlap(preset, seed):
    space = load_preset(preset)
    state = arch_state_from_params(space, random_params(space, seed))
    fig = plot_supernet(state)
    boxes = text_boxes(fig)
    n_edges = len(state.graph.edges)
    n_probs = sum(1 for text, _ in boxes
                  if len(text) == 4 and text[1] == '.')
    assert n_probs == (n_edges if n_edges <= 80 else 0)
    clashes = [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2)
               if overlap_area(ba, [bb]) > 0]
    assert clashes == []
    # no text on a node circle other than the node's own label
    node_labels = {t for t, _ in boxes if t.endswith('ch')}
    circles = node_circles(fig, state)
    assert len(circles) == len(state.graph.nodes)
    for text, box in boxes:
        if text in node_labels:
            continue
        hits = [c for c, r in circles if circle_hits_box(c, r, box)]
        assert hits == [], text


def test_probability_labels_sit_on_their_edges():
    """Each p label lies on its own edge's curve (some t in [0.2, 0.8])."""
    space = load_preset('densenas_demo_32')
    state = arch_state_from_params(space, random_params(space, 0))
    fig = plot_supernet(state)
    ax = fig.axes[0]
    fig.canvas.draw()
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    probs = state.edge_probs()
    labels = [t for t in ax.texts
              if len(t.get_text()) == 4 and t.get_text()[1] == '.']
    assert len(labels) == len(arrows) == len(probs)
    for label in labels:
        at = ax.transData.transform(label.get_position())
        best = np.inf
        for arrow in arrows:
            pts = np.concatenate([
                seg(np.linspace(0, 1, 41))
                for seg, _ in arrow.get_path().iter_bezier()
            ])
            pts = arrow.get_transform().transform(pts)
            best = min(best, np.min(np.hypot(*(pts - at).T)))
        assert best < 12.0  # pixels from a drawn edge


def test_arc3_point_matches_matplotlib_curve():
    a, b, rad = (10.0, 20.0), (110.0, 60.0), 0.3
    assert arc3_point(a, b, rad, 0.0) == pytest.approx(a)
    assert arc3_point(a, b, rad, 1.0) == pytest.approx(b)
    # the midpoint of a quadratic Bezier: half way to the control point
    ctrl = np.array([60.0 + 0.3 * 40.0, 40.0 - 0.3 * 100.0])
    mid = 0.25 * np.array(a) + 0.5 * ctrl + 0.25 * np.array(b)
    assert arc3_point(a, b, rad, 0.5) == pytest.approx(tuple(mid))


def test_derived_arch_edge_widths_are_one_hot():
    """Edges leaving nodes off the path are drawn at p = 0, not 1."""
    space = load_preset('densenas_demo_32')
    graph = SpaceGraph(space)
    arch = derive_arch(space, graph, random_params(space, 4))
    state = arch_state_from_arch(space, arch)
    probs = state.edge_probs()
    on_path = set(state.path_edges())
    off_nodes = set(graph.nodes) - set(state.path)
    assert off_nodes, 'the test needs nodes off the path'
    assert all(probs[e] == (1.0 if e in on_path else 0.0) for e in probs)
    fig = plot_supernet(state)
    arrows = [p for p in fig.axes[0].patches
              if isinstance(p, FancyArrowPatch)]
    got = sorted(round(a.get_linewidth(), 6) for a in arrows)
    want = sorted(
        round(float(w), 6)
        for w in edge_widths([probs[e] for e in probs]))
    assert got == want
    assert got.count(round(float(edge_widths([1.0])[0]), 6)) == len(on_path)


def test_search_state_edge_widths_follow_probs():
    space = load_preset('densenas_demo_32')
    state = arch_state_from_params(space, random_params(space, 2))
    fig = plot_supernet(state)
    arrows = [p for p in fig.axes[0].patches
              if isinstance(p, FancyArrowPatch)]
    got = sorted(round(a.get_linewidth(), 6) for a in arrows)
    want = sorted(round(float(w), 6)
                  for w in edge_widths(list(state.edge_probs().values())))
    assert got == want


def test_stack_text_shortens_runs():
    assert stack_text(['basic_block'] * 9) == 'basic x9'
    text = stack_text(['mbconv_k3_t6', 'mbconv_k3_t6', 'mbconv_k5_t3',
                       'skip_connect', 'mbconv_k7_t6'])
    assert text == 'k3t6 x2,k5t3,skip\nk7t6'


def test_curve_epoch_ticks_are_integers():
    history = [
        dict(epoch=e, phase='warmup' if e <= 2 else 'search',
             expected_latency=5.0 - 0.1 * e, train_loss=1.0 / e,
             train_acc=50 + e, alpha_entropy=1.0 - 0.05 * e)
        for e in range(1, 5)
    ]
    fig = plot_curves(history, warmup_epochs=2)
    fig.canvas.draw()
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert len(ticks) >= 2
        assert all(float(t).is_integer() for t in ticks), ticks


def test_search_quality_legend_covers_no_point():
    results = [
        NetResult(name=f'random_{k}', kind='random', arch='a.yaml',
                  lut_latency=4.0 + 0.1 * k, top1=80.0 + k % 4,
                  measured_latency=5.0 + 0.1 * k) for k in range(8)
    ] + [
        NetResult(name='searched_s0', kind='searched', arch='s.yaml',
                  lut_latency=4.3, top1=83.9, seed=0, measured_latency=5.2)
    ]
    fig = results_figure(results)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = fig.legends + [ax.get_legend() for ax in fig.axes
                             if ax.get_legend() is not None]
    assert len(legends) == 1
    box = legends[0].get_window_extent(renderer)
    points = [
        ax.transData.transform(xy) for ax in fig.axes
        for c in ax.collections for xy in c.get_offsets()
    ]
    assert len(points) == 2 * len(results)
    inside = [p for p in points
              if box.x0 <= p[0] <= box.x1 and box.y0 <= p[1] <= box.y1]
    assert inside == []
    for ax in fig.axes:  # below the panels, not over them
        assert overlap_area(box, [ax.get_window_extent(renderer)]) == 0.0
