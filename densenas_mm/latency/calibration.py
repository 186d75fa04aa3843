"""Calibration of a latency table from whole-net measurements.

A table predicts a net as the sum of its ops' entries; on a CPU the whole
net takes 12-27 % longer (``docs/latency.md``: per-call overheads, cache
effects between ops). The calibration is the linear model::

    measured(net) = scale * sum(LUT of its ops) + per_op * (its ops)
                    + constant

fitted by least squares on the relative error over nets measured end to
end with the table's setting. It decomposes over the units of the chained
cost (per candidate op, plus one term per net), so every consumer of
per-op costs picks it up unchanged:

- a kept op costs ``scale * lut(op) + per_op`` (:meth:`Calibration.op_cost`);
- a skip costs 0: the derived net drops skipped layers, and the fit counts
  the kept ops only, so the calibrated chained cost of a path equals the
  calibrated estimate of the net;
- ``constant`` is paid once per net, added to the stem's cost.

The fit, its residuals and its provenance are stored in the table file
(schema version 3, top-level ``"calibration"``).

Where a machine's speed drifts between sittings (a shared VM), the fit's own
nets timed again tell how far: :func:`machine_drift` is the geometric mean
of their now / at-fit ratios, and :meth:`Calibration.at_level` rescales the
model to it without a new fit (``fit["level"]``, the checks in
``fit["level_checks"]``).
"""
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .schema import LatencyTableError

TERMS = ('scale', 'per_op', 'constant')
#: Spread (std of the log now / at-fit ratios) of the fit's nets above which
#: the machine changed more than its level: fit again instead of rescaling.
LEVEL_SPREAD_LIMIT = 0.05


@dataclass(frozen=True)
class NetSample:
    """One whole-net measurement behind (or checking) a calibration.

    Attributes:
        net (str): The net's ``net_config`` string.
        lut (float): Sum of its ops' table entries (ms).
        ops (int): Its ops (stem, heads, kept stacking ops, terminal,
            classifier; skipped layers are not ops).
        measured (float): Measured whole-net latency (ms).
    """
    net: str
    lut: float
    ops: int
    measured: float


@dataclass(frozen=True)
class Calibration:
    """The fitted model and its provenance.

    Attributes:
        scale (float): Factor on every table entry (> 0).
        per_op (float): Milliseconds added per kept op (>= 0).
        constant (float): Milliseconds added once per net (>= 0).
        fit (dict): Provenance and quality: ``nets``, ``seed``, ``date``,
            ``host``, ``device``, ``backend``, ``terms`` (those fitted),
            ``r2``, ``rms_rel_error``, ``max_abs_rel_error``,
            ``uncalibrated_mean_abs_rel_error``, ``samples`` (per net:
            ``net``, ``lut``, ``ops``, ``measured``, ``predicted``,
            ``rel_error``).
    """
    scale: float
    per_op: float = 0.0
    constant: float = 0.0
    fit: Dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def level(self) -> float:
        """The machine's level the coefficients describe, relative to the
        sitting of the fit (1.0 until :meth:`at_level` rescales them)."""
        return float(self.fit.get('level', 1.0))

    def at_level(self, level: float,
                 check: Optional[Dict[str, Any]] = None) -> 'Calibration':
        """This calibration rescaled to the machine's ``level``: every
        coefficient is the fitted one times ``level`` (the fit's nets now
        take ``level`` x their time at the fit, :func:`machine_drift`).

        Args:
            level (float): The new level, relative to the fit's sitting
                (> 0; not relative to the current level).
            check (dict, optional): Provenance of the level check (date,
                host, load, ...), appended to ``fit["level_checks"]``.

        Raises:
            ValueError: For a level that is not a finite number > 0.
        """
        if not (math.isfinite(level) and level > 0):
            raise ValueError(f'a level is a finite number > 0, got {level}')
        factor = level / self.level
        fit = dict(self.fit, level=float(level),
                   level_checks=list(self.fit.get('level_checks', [])) +
                   [dict(check or {}, level=float(level))])
        return Calibration(scale=self.scale * factor,
                           per_op=self.per_op * factor,
                           constant=self.constant * factor, fit=fit)

    def op_cost(self, lut_ms: float, is_skip: bool = False) -> float:
        """Calibrated cost of one op of table latency ``lut_ms`` (a skip
        is dropped from the net: 0)."""
        return 0.0 if is_skip else self.scale * lut_ms + self.per_op

    def net_cost(self, lut_ms: float, ops: int) -> float:
        """Calibrated latency of a net of ``ops`` kept ops summing to
        ``lut_ms`` in the table."""
        return self.scale * lut_ms + self.per_op * ops + self.constant

    def describe(self) -> str:
        """One line: the model with its coefficients and fit quality."""
        fit = self.fit
        quality = ''
        if 'r2' in fit:
            quality = (f' (fit on {fit.get("nets")} nets: R^2 '
                       f'{fit["r2"]:.4f}, rms rel. error '
                       f'{100 * fit["rms_rel_error"]:.2f} %, max '
                       f'{100 * fit["max_abs_rel_error"]:.2f} %; '
                       'uncalibrated mean abs error '
                       f'{100 * fit["uncalibrated_mean_abs_rel_error"]:.1f}'
                       ' %)')
        if self.level != 1.0:
            last = (fit.get('level_checks') or [{}])[-1]
            quality += (f'; rescaled to {self.level:.4f} x the level of the '
                        f'fit by a level check ({last.get("date", "?")})')
        return (f'measured = {self.scale:.4f} x LUT + {self.per_op:.4f} ms '
                f'x ops + {self.constant:.4f} ms{quality}')

    def to_dict(self) -> Dict[str, Any]:
        """The JSON content."""
        return dict(scale=self.scale, per_op=self.per_op,
                    constant=self.constant, fit=dict(self.fit))

    @classmethod
    def from_dict(cls, data: Any, source: str) -> 'Calibration':
        """Validate the JSON content of a calibration.

        Raises:
            LatencyTableError: Saying which field is wrong.
        """
        where = f'latency table {source}: calibration'
        if not isinstance(data, dict):
            raise LatencyTableError(f'{where} must be an object or null')
        unknown = sorted(set(data) - set(TERMS) - {'fit'})
        if unknown or 'scale' not in data:
            raise LatencyTableError(
                f'{where} needs "scale" (and optionally "per_op", '
                f'"constant", "fit"); unknown keys {unknown}')
        values = {}
        for name in TERMS:
            value = data.get(name, 0.0)
            ok = (isinstance(value, (int, float))
                  and not isinstance(value, bool) and math.isfinite(value)
                  and value >= 0 and (name != 'scale' or value > 0))
            if not ok:
                raise LatencyTableError(
                    f'{where}: {name} must be a finite number '
                    f'{"> 0" if name == "scale" else ">= 0"}, got {value!r};'
                    ' recalibrate with tools/analysis/calibrate_latency.py')
            values[name] = float(value)
        fit = data.get('fit', {})
        if not isinstance(fit, dict):
            raise LatencyTableError(f'{where}: fit must be an object')
        level = fit.get('level', 1.0)
        if not (isinstance(level, (int, float)) and not isinstance(
                level, bool) and math.isfinite(level) and level > 0):
            raise LatencyTableError(
                f'{where}: fit.level must be a finite number > 0, got '
                f'{level!r}; recheck it with tools/analysis/latency_level.py '
                'or recalibrate with tools/analysis/calibrate_latency.py')
        return cls(fit=dict(data.get('fit', {})), **values)


def machine_drift(at_fit: Sequence[float], now: Sequence[float]) -> float:
    """How much faster (< 1) or slower (> 1) the machine times a
    calibration's nets now than when they were fitted: the geometric mean
    of the ratios ``now / at_fit``, net by net.

    A net's measurement divided by it is what the machine would have
    measured in the sitting of the fit, the sitting the calibrated table
    describes; where whole-net timings drift between sittings (a shared
    VM), that separates the table's error from the machine's.

    Raises:
        ValueError: For no nets, lists of other lengths or a time <= 0.
    """
    ratios = _ratios(at_fit, now)
    return float(np.exp(np.mean(np.log(ratios))))


def level_spread(at_fit: Sequence[float], now: Sequence[float]) -> float:
    """How unevenly the nets moved: the standard deviation of the log
    ratios ``now / at_fit`` (0 when every net moved by the same factor,
    which one level describes; compare with :data:`LEVEL_SPREAD_LIMIT`)."""
    return float(np.std(np.log(_ratios(at_fit, now))))


def _ratios(at_fit: Sequence[float], now: Sequence[float]) -> np.ndarray:
    before = np.asarray(at_fit, dtype=float)
    after = np.asarray(now, dtype=float)
    if before.shape != after.shape or before.ndim != 1 or not len(before):
        raise ValueError('the nets at the fit and now must be two lists of '
                         f'one length, got {before.shape} and {after.shape}')
    if (before <= 0).any() or (after <= 0).any():
        raise ValueError('latencies must be > 0 ms')
    return after / before


def _lstsq(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(x, y, rcond=None)[0]


def fit_calibration(samples: Sequence[NetSample],
                    terms: Sequence[str] = TERMS,
                    provenance: Optional[Dict[str, Any]] = None
                    ) -> Calibration:
    """Least-squares fit of the model on the relative error.

    Minimises ``sum(((predicted - measured) / measured) ** 2)`` with
    ``scale > 0`` and the overheads >= 0: among the subsets of ``terms``
    that hold ``scale``, the fit with the most terms whose coefficients are
    all admissible (ties: the smaller residual).

    Args:
        samples (Sequence[NetSample]): The nets (at least as many as terms).
        terms (Sequence[str]): Terms to fit (``scale`` always).
        provenance (dict, optional): Merged into ``fit``.

    Returns:
        Calibration: The model, its fit statistics and per-net residuals.

    Raises:
        ValueError: For too few nets or an unknown term.
    """
    terms = tuple(terms)
    if 'scale' not in terms or set(terms) - set(TERMS):
        raise ValueError(f'terms must hold "scale" and be among {TERMS}, '
                         f'got {terms}')
    if len(samples) < len(terms):
        raise ValueError(f'{len(samples)} nets cannot fit {len(terms)} '
                         f'terms {terms}; measure more nets')
    measured = np.array([s.measured for s in samples], dtype=float)
    columns = dict(
        scale=np.array([s.lut for s in samples], dtype=float),
        per_op=np.array([s.ops for s in samples], dtype=float),
        constant=np.ones(len(samples)))
    best = None
    extra = [t for t in terms if t != 'scale']
    for size in range(len(extra), -1, -1):
        for subset in itertools.combinations(extra, size):
            names = ('scale', ) + subset
            x = np.stack([columns[n] for n in names], 1) / measured[:, None]
            coef = _lstsq(x, np.ones(len(samples)))
            if coef[0] <= 0 or (coef[1:] < 0).any():
                continue
            resid = float(((x @ coef - 1)**2).sum())
            if best is None or resid < best[2] - 1e-12:
                best = (names, coef, resid)
        if best is not None:
            break
    if best is None:
        raise ValueError('no admissible fit (scale > 0, overheads >= 0); '
                         'the measurements do not grow with the table')
    names, coef, _ = best
    values = dict(zip(names, (float(c) for c in coef)))
    model = Calibration(**values)
    return Calibration(fit=fit_report(model, samples, names, provenance),
                       **values)


def fit_report(model: Calibration, samples: Sequence[NetSample],
               terms: Sequence[str],
               provenance: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Fit statistics of ``model`` on ``samples`` (see
    :attr:`Calibration.fit`)."""
    measured = np.array([s.measured for s in samples], dtype=float)
    predicted = np.array([model.net_cost(s.lut, s.ops) for s in samples])
    lut = np.array([s.lut for s in samples], dtype=float)
    rel = (predicted - measured) / measured
    total = float(((measured - measured.mean())**2).sum())
    r2 = 1.0 - float(((predicted - measured)**2).sum()) / total if total \
        else 1.0
    rows: List[Dict[str, Any]] = [
        dict(net=s.net, lut=round(s.lut, 6), ops=s.ops,
             measured=round(s.measured, 6), predicted=round(float(p), 6),
             rel_error=round(float(r), 6))
        for s, p, r in zip(samples, predicted, rel)
    ]
    return dict(
        provenance or {},
        nets=len(samples),
        terms=list(terms),
        r2=r2,
        rms_rel_error=float(np.sqrt((rel**2).mean())),
        max_abs_rel_error=float(np.abs(rel).max()),
        uncalibrated_mean_abs_rel_error=float(
            np.abs((lut - measured) / measured).mean()),
        samples=rows)
