"""Nets for many budgets from one search (``tools/analysis/derive_budgets.py``'s
job): the most probable architecture under each cost budget and the whole
log-probability vs cost front, from a search checkpoint's alpha / beta.

The derivation itself is
:mod:`densenas_mm.models.estimators.budget_derivation`; this module reads
the config, the checkpoint and the cost table, and writes one architecture
YAML per budget (``best.yaml``'s format), ``front.csv`` / ``budgets.csv`` /
``front.json`` and ``front.png``.
"""
import csv
import io
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

from densenas_mm.models.estimators import ChainedLatencyEstimator
from densenas_mm.models.estimators.budget_derivation import (
    BudgetError, FrontPoint, arch_logp, best_under, log_probs, pareto_front,
    point_arch, window_best)
from densenas_mm.search_space import SpaceGraph, search_space_from_cfg
from densenas_mm.structures import (check_params, derive_arch,
                                    params_from_state_dict)
from densenas_mm.utils.checkpoint import (CheckpointError, read_checkpoint,
                                          state_of)
from densenas_mm.utils.io import (dump_json_atomic, prepare_output_dir,
                                  write_text_atomic)
from densenas_mm.visualization import plot_front, save_figure
from .cli import ToolOutput

UNITS = dict(latency='ms', flops='MFLOPs', params='M params')


def budget_estimator(config: Any,
                     metric: Optional[str] = None,
                     lut: Optional[str] = None,
                     allow_noisy_lut: bool = False) -> ChainedLatencyEstimator:
    """The search config's estimator with the tool's overrides.

    Args:
        config (Config): The search config (``model.estimator``).
        metric (str, optional): ``latency``, ``flops`` or ``params``;
            default the config's.
        lut (str, optional): Latency table instead of the config's (a
            FLOPs / params derivation without it reads no table).
        allow_noisy_lut (bool): Use a table marked noisy (warns).
    """
    est = dict(config.model.get('estimator') or {})
    est.pop('type', None)
    est['metric'] = metric or est.get('metric', 'latency')
    if lut:
        est['lut'] = lut
    elif est['metric'] != 'latency':
        est['lut'] = None
    if allow_noisy_lut and isinstance(est.get('target'), dict):
        est['target'] = dict(est['target'], allow_noisy=True)
    elif allow_noisy_lut:
        est['allow_noisy_lut'] = True
    return ChainedLatencyEstimator(**est)


def front_budgets(front: Sequence[FrontPoint], count: int) -> List[float]:
    """``count`` budgets evenly spaced from the cheapest net's cost to the
    costliest Pareto-optimal net's (both included)."""
    lo, hi = front[0].cost, front[-1].cost
    if count < 1:
        raise ValueError(f'--front takes a count >= 1, got {count}')
    if count == 1:
        return [hi]
    return [lo + (hi - lo) * k / (count - 1) for k in range(count)]


def _row(point: FrontPoint, **extra: Any) -> Dict[str, Any]:
    return dict(extra, cost=point.cost, logp=point.logp,
                path=list(point.path))


def _csv(rows: List[Dict[str, Any]], keys: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(keys), lineterminator='\n')
    writer.writeheader()
    for row in rows:
        writer.writerow({
            k: ' '.join(map(str, row[k])) if isinstance(row[k], list) else
            row[k]
            for k in keys
        })
    return buf.getvalue()


def _pick(costs: Any, space: Any, params: Any, graph: SpaceGraph,
          front: Sequence[FrontPoint], budget: float,
          window: float) -> FrontPoint:
    """The net of one budget: in the window when one lies there."""
    point = (window_best(costs, space, params, (1 - window) * budget,
                         budget, graph) if window > 0 else None)
    return point or best_under(front, budget)


def arch_file_name(budget: float) -> str:
    """``budget_<value>.yaml`` (``%g`` of the budget)."""
    return f'budget_{budget:g}.yaml'


def derive_budgets(config: str,
                   search_ckpt: str,
                   budgets: Optional[Sequence[float]] = None,
                   front: Optional[int] = None,
                   lut: Optional[str] = None,
                   metric: Optional[str] = None,
                   resolution: Optional[float] = None,
                   out_dir: str = '.',
                   allow_noisy_lut: bool = False,
                   window: float = 0.0) -> ToolOutput:
    """Derive the most probable net under each budget from one search.

    Args:
        config (str): The search config (space and estimator).
        search_ckpt (str): A checkpoint of that search (alpha / beta).
        budgets (Sequence[float], optional): Cost budgets (in the metric's
            unit: ms, MFLOPs, M params).
        front (int, optional): Also this many budgets evenly spaced over the
            front's cost range.
        lut (str, optional): Latency table instead of the config's.
        metric (str, optional): ``latency`` | ``flops`` | ``params``
            (default the config's).
        resolution (float, optional): Cost resolution of the front's pruning
            (rounded up; default exact), see
            :mod:`~densenas_mm.models.estimators.budget_derivation`.
        out_dir (str): Where the YAMLs, CSVs, JSON and PNG go.
        allow_noisy_lut (bool): Use a table marked noisy (warns).
        window (float): With ``W > 0`` a budget's net is the most probable
            one costing between ``(1 - W) x budget`` and the budget
            (:func:`~densenas_mm.models.estimators.budget_derivation
            .window_best`), else (and when none lies there) the most
            probable one under the budget.

    Returns:
        ToolOutput: The table of budget / cost / logp / path and the files
        written (status 1 with the cheapest cost for a budget below it);
        ``result`` is the ``front.json`` content.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    space = search_space_from_cfg(cfg)
    graph = SpaceGraph(space)
    try:
        params = params_from_state_dict(
            state_of(read_checkpoint(search_ckpt), search_ckpt))
        check_params(space, graph, params)
    except ValueError as err:
        raise CheckpointError(f'{search_ckpt}: {err} (config {config})') \
            from None
    est = budget_estimator(cfg, metric, lut, allow_noisy_lut)
    costs = est.space_costs(space)
    points = pareto_front(costs, space, params, graph, resolution)
    asked = sorted(set(list(budgets or []) +
                       (front_budgets(points, front) if front else [])))
    if not asked:
        return ToolOutput(2, err='give --budgets and/or --front N')
    try:
        picks = [(b, _pick(costs, space, params, graph, points, b, window))
                 for b in asked]
    except BudgetError as err:
        return ToolOutput(1, err=f'error: {err} ({est.metric}, '
                          f'{UNITS[est.metric]})')
    logp = log_probs(space, graph, params)
    today = derive_arch(space, graph, params)
    today_row = dict(cost=est.path_cost(today, space), path=today.path,
                     logp=arch_logp(space, graph, params, today, logp))
    out_dir = prepare_output_dir(out_dir, '--out-dir')
    rows = []
    for budget, point in picks:
        name = arch_file_name(budget)
        arch = point_arch(space, graph, params, point, dict(
            budget=budget, metric=est.metric, predicted_cost=point.cost,
            logp=point.logp, search_checkpoint=search_ckpt))
        arch.dump(osp.join(out_dir, name))
        rows.append(_row(point, budget=budget, arch=name,
                         net_config=arch.to_net_config()))
    result = dict(
        metric=est.metric, unit=UNITS[est.metric], space=space.name,
        search_checkpoint=search_ckpt, resolution=resolution, window=window,
        budgets=rows, front=[_row(p) for p in points],
        viterbi_argmax=today_row, joint_optimum=_row(points[-1]))
    dump_json_atomic(result, osp.join(out_dir, 'front.json'), indent=2)
    write_text_atomic(_csv(result['front'], ('cost', 'logp', 'path')),
                      osp.join(out_dir, 'front.csv'))
    write_text_atomic(
        _csv(rows, ('budget', 'cost', 'logp', 'path', 'arch')),
        osp.join(out_dir, 'budgets.csv'))
    save_figure(
        plot_front([(p.cost, p.logp) for p in points], rows,
                   (today_row['cost'], today_row['logp']),
                   UNITS[est.metric],
                   f'{space.name}: {len(points)} Pareto-optimal nets'),
        osp.join(out_dir, 'front.png'))
    return ToolOutput(0, format_budgets(result, out_dir), result=result)


def format_budgets(result: Dict[str, Any], out_dir: str = '') -> str:
    """The budgets table, both unconstrained derivations and the files."""
    unit = result['unit']
    head = f'{"budget":>10} {"predicted":>10} {"logp":>9}  path'
    lines = [f'{result["space"]}: {len(result["front"])} Pareto-optimal '
             f'nets, {result["metric"]} in {unit}', head, '-' * len(head)]
    for r in result['budgets']:
        lines.append(f'{r["budget"]:>10.4g} {r["cost"]:>10.4g} '
                     f'{r["logp"]:>9.3f}  {r["path"]}  -> {r["arch"]}')
    for label, key in (('joint-logp optimum (no budget)', 'joint_optimum'),
                       ('today (Viterbi + argmax)', 'viterbi_argmax')):
        r = result[key]
        lines.append(f'{label}: {r["cost"]:.4g} {unit}, logp '
                     f'{r["logp"]:.3f}, path {r["path"]}')
    if out_dir:
        lines.append(f'wrote {len(result["budgets"])} arch YAMLs, '
                     'front.csv, budgets.csv, front.json, front.png to '
                     f'{out_dir}')
    return '\n'.join(lines)
