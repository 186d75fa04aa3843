"""Placing edge labels of the supernet picture where nothing hides them.

An edge of the supernet graph is drawn as matplotlib's ``arc3`` curve: a
quadratic Bezier curve whose middle control point lies ``rad`` times the
chord length off the chord's midpoint, computed in display (pixel)
coordinates. :func:`arc3_point` follows the same geometry, so a label put
at ``t`` sits on its own edge. :func:`place_labels` puts each label at the
first of a few positions along its edge whose text box overlaps no box
already taken (node circles, node texts, earlier labels); where every
position is taken it keeps the one with the least overlap.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.text import Text
from matplotlib.transforms import Bbox

Point = Tuple[float, float]

#: Clearance kept around a label's text (pixels).
LABEL_PAD = 1.5

#: Positions along an edge tried in turn (0 = source, 1 = target).
LABEL_POSITIONS = (0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75, 0.2, 0.8)


def arc3_point(start: Point, end: Point, rad: float, t: float) -> Point:
    """The point at parameter ``t`` of matplotlib's ``arc3`` curve.

    Args:
        start (tuple): Start point, display coordinates.
        end (tuple): End point, display coordinates.
        rad (float): The curve's ``rad`` (0 for a straight edge).
        t (float): Curve parameter in [0, 1].

    Returns:
        tuple: The point, display coordinates.
    """
    p0, p2 = np.asarray(start, float), np.asarray(end, float)
    d = p2 - p0
    ctrl = (p0 + p2) / 2 + rad * np.array([d[1], -d[0]])
    pt = (1 - t)**2 * p0 + 2 * t * (1 - t) * ctrl + t**2 * p2
    return float(pt[0]), float(pt[1])


def overlap_area(box: Bbox, others: Sequence[Bbox]) -> float:
    """Summed area that ``box`` shares with ``others`` (pixels^2)."""
    total = 0.0
    for other in others:
        w = min(box.x1, other.x1) - max(box.x0, other.x0)
        h = min(box.y1, other.y1) - max(box.y0, other.y0)
        if w > 0 and h > 0:
            total += w * h
    return total


def circle_box(ax: Axes, xy: Point, radius_px: float) -> Bbox:
    """Pixel box of a circle marker of ``radius_px`` centred at data
    point ``xy``."""
    x, y = ax.transData.transform(xy)
    return Bbox.from_extents(x - radius_px, y - radius_px, x + radius_px,
                             y + radius_px)


def place_labels(ax: Axes, labels: Sequence[Text],
                 edges: Sequence[Tuple[Point, Point, float]],
                 taken: Optional[List[Bbox]] = None,
                 positions: Sequence[float] = LABEL_POSITIONS) -> List[Bbox]:
    """Move every label to a free spot on its edge (in order).

    Args:
        ax (Axes): The axes (limits already set: placement is in pixels).
        labels (Sequence[Text]): One text per edge, already added to ``ax``.
        edges (Sequence[tuple]): ``(start, end, rad)`` per label, data
            coordinates for the ends.
        taken (list[Bbox], optional): Pixel boxes to keep clear (node
            circles, node texts); extended with the placed labels.
        positions (Sequence[float]): Curve parameters to try, in order.

    Returns:
        list[Bbox]: ``taken`` with the labels' final boxes appended.
    """
    if len(labels) != len(edges):
        raise ValueError(f'{len(labels)} labels for {len(edges)} edges')
    taken = list(taken or [])
    renderer = ax.figure.canvas.get_renderer()
    to_data = ax.transData.inverted()
    for label, (start, end, rad) in zip(labels, edges):
        a = ax.transData.transform(start)
        b = ax.transData.transform(end)
        best = None
        for t in positions:
            label.set_position(to_data.transform(arc3_point(a, b, rad, t)))
            box = label.get_window_extent(renderer).padded(LABEL_PAD)
            cost = overlap_area(box, taken)
            if best is None or cost < best[0]:
                best = (cost, t, box)
            if cost == 0.0:
                break
        _, t, box = best
        label.set_position(to_data.transform(arc3_point(a, b, rad, t)))
        taken.append(box)
    return taken
