"""Latency windows over the shared pool of random nets.

The searched-vs-random protocol (:mod:`.search_vs_random`) matches every
searched net to random nets of its own predicted latency: the pool entries
(:func:`.pool.load_or_draw_pool`, in the pool's random draw order)
within a relative window around that latency. When the window holds fewer
nets than asked, it is widened stepwise (``tolerance``, ``2 * tolerance``,
``3 * tolerance``, ... up to ``max_tolerance``) and the window used is
reported. The RS-WS arm takes its ~100 candidates the same way.

numpy only; nothing here runs a model.
"""
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Sequence

import numpy as np


@dataclass
class LatencyWindow:
    """The pool entries matched to one latency.

    Attributes:
        target (float): The latency matched (ms).
        tolerance (float): The relative half-width used (after widening).
        asked (int): How many entries were asked for.
        inside (int): How many pool entries lie within the window.
        indices (list[int]): The first ``asked`` of them (all when fewer),
            in pool (draw) order: a random sample of the window.
        steps (int): Widening steps taken (1: the first window).
    """
    target: float
    tolerance: float
    asked: int
    inside: int
    indices: List[int]
    steps: int = 1

    @property
    def widened(self) -> bool:
        """Whether the window is wider than the first step."""
        return self.steps > 1

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def latency_window(latencies: Sequence[float],
                   target: float,
                   count: int,
                   tolerance: float = 0.01,
                   max_tolerance: float = 0.05) -> LatencyWindow:
    """The first ``count`` entries within ``tolerance`` of ``target``,
    widened stepwise (``k * tolerance``, k = 1, 2, ...; the last step is
    ``max_tolerance``) until ``count`` lie inside or the maximum is reached.

    Args:
        latencies (Sequence[float]): The pool's latencies, in draw order.
        target (float): The latency to match (ms, > 0).
        count (int): Entries wanted (>= 1).
        tolerance (float): Relative half-width of the first window (> 0).
        max_tolerance (float): The widest window (>= ``tolerance``).

    Returns:
        LatencyWindow: The window used; it may hold fewer than ``count``
        entries when even ``max_tolerance`` does (the caller decides).

    Raises:
        ValueError: For a non-positive target, count or tolerance, or a
            maximum below the first tolerance.
    """
    if not target > 0:
        raise ValueError(f'the target latency must be > 0, got {target}')
    if count < 1:
        raise ValueError(f'count must be >= 1, got {count}')
    if not 0 < tolerance <= max_tolerance:
        raise ValueError(
            f'need 0 < tolerance <= max_tolerance, got tolerance '
            f'{tolerance}, max_tolerance {max_tolerance}')
    rel = np.abs(np.asarray(latencies, dtype=float) / target - 1)
    step = 1
    while True:
        tol = min(step * tolerance, max_tolerance)
        # a small slack: 5.05 / 5.0 - 1 is 0.00999... or 0.0100...1 in floats
        inside = np.flatnonzero(rel <= tol * (1 + 1e-9))
        if len(inside) >= count or tol >= max_tolerance:
            return LatencyWindow(target=float(target), tolerance=float(tol),
                                 asked=count, inside=int(len(inside)),
                                 indices=[int(i) for i in inside[:count]],
                                 steps=step)
        step += 1


def window_text(window: LatencyWindow) -> str:
    """``+-1.0 %`` (``+-2.0 % (widened)`` when widened)."""
    text = f'+-{100 * window.tolerance:.1f} %'
    return text + ' (widened)' if window.widened else text


__all__ = ['LatencyWindow', 'latency_window', 'window_text']
