"""A latency budget in real milliseconds: after a search with
``LatencyLoss(target=T)``, the derived net's predicted latency (the
estimator's: calibrated when its table is) and its latency measured end to
end the way the table was measured, as one log line

    budget T: derived X ms predicted, Y ms measured

``budget.json`` in the work dir (read by the demo summary) and the net as
``arch/budget.yaml``. The net is the most probable one whose predicted
latency is at most T (the budget-constrained derivation), so it never
exceeds the budget in prediction; how close it lands to T when measured is
the calibration's accuracy.
"""
import os.path as osp
from typing import Any, Dict, Optional, Tuple

import torch

from densenas_mm.models.estimators.budget_derivation import (
    BudgetError, best_under, pareto_front, point_arch, window_best)
from densenas_mm.structures import DerivedArch
from densenas_mm.utils.io import dump_json_atomic, prepare_output_file
from .latency_agreement import measure_nets

BUDGET_FILE = 'budget.json'
#: The budget net's architecture, under the work dir's ``arch/``.
BUDGET_ARCH = 'budget.yaml'
#: Default share of the budget below it a budget net may lie (the config's
#: top-level ``budget_window``).
BUDGET_WINDOW = 0.05


def budget_line(report: Dict[str, Any]) -> str:
    """The log line of a :func:`check_budget` report."""
    line = (f"budget {report['target']:g}: derived "
            f"{report['predicted']:.3f} ms predicted")
    if report.get('measured') is not None:
        line += (f", {report['measured']:.3f} ms measured "
                 f"({100 * (report['measured'] / report['target'] - 1):+.1f}"
                 ' % of the budget)')
    return line + (' (calibrated table)' if report['calibrated'] else
                   ' (uncalibrated table: table milliseconds)')


def budget_arch(algorithm: Any,
                target: float,
                window: float = BUDGET_WINDOW) -> Tuple[DerivedArch, str]:
    """The net a budget search derives for ``target``.

    The most probable net (joint log-probability of path and ops under
    beta and alpha) whose predicted cost, calibrated where the table is,
    lies in ``[(1 - window) * target, target]``: it respects the budget and
    spends it (:func:`~densenas_mm.models.estimators.budget_derivation
    .window_best`). When no net lies in that window, the most probable net
    under the budget (:func:`~densenas_mm.models.estimators
    .budget_derivation.best_under`); when even the cheapest net exceeds the
    budget, the unconstrained derivation (Viterbi path, argmax ops).

    Args:
        algorithm: A DenseNAS algorithm (``mutator``, ``estimator``).
        target (float): The budget.
        window (float): Share of the budget below it a net may lie
            (0: the most probable net under the budget).

    Returns:
        tuple[DerivedArch, str]: The net and how it was derived
        (``'window'``, ``'budget'`` or ``'argmax'``).
    """
    if not 0 <= window < 1:
        raise ValueError(f'budget_window must lie in [0, 1), got {window}')
    mutator, est = algorithm.mutator, algorithm.estimator
    space, graph = mutator.space, mutator.graph
    params = mutator.host_arch_params()
    costs = est.space_costs(space)
    point = how = None
    if window > 0:
        point = window_best(costs, space, params, (1 - window) * target,
                            target, graph)
        how = 'window'
    if point is None:
        try:
            point = best_under(pareto_front(costs, space, params, graph),
                               target)
            how = 'budget'
        except BudgetError:
            return mutator.derived_arch(), 'argmax'
    arch = point_arch(space, graph, params, point,
                      dict(budget=float(target), predicted_cost=point.cost,
                           logp=point.logp, derivation=how))
    return arch, how


def derivation_line(report: Dict[str, Any]) -> str:
    """How a :func:`check_budget` report's net was derived."""
    how = report.get('derivation')
    argmax = report.get('argmax_predicted')
    if how == 'window':
        text = ('the most probable net within the budget and at most '
                f'{100 * report["window"]:g} % below it')
    elif how == 'budget':
        text = ('the most probable net within the budget (no net lies '
                f'within {100 * report["window"]:g} % below it)')
    elif how == 'argmax':
        text = ('the unconstrained derivation (even the cheapest net of '
                'the space exceeds the budget)')
    else:
        text = 'the given net'
    if argmax is not None:
        text += f'; the unconstrained derivation: {argmax:.3f} ms predicted'
    return f'budget {report["target"]:g}: derived net = {text}'


def check_budget(algorithm: Any,
                 arch: Optional[DerivedArch] = None,
                 measure: bool = True,
                 window: float = BUDGET_WINDOW,
                 **timing: Any) -> Optional[Dict[str, Any]]:
    """Predicted and measured latency of a budget search's derived net.

    Args:
        algorithm: A DenseNAS algorithm (``cost_loss``, ``estimator``,
            ``mutator``).
        arch (DerivedArch, optional): The net (default: the most probable
            net within the budget and ``window``, :func:`budget_arch`).
        measure (bool): Also time the net (on the table's device type).
        window (float): See :func:`budget_arch`.
        **timing: Round settings of :func:`.latency_audit.measure_like_table`.

    Returns:
        dict, optional: ``target``, ``predicted``, ``measured`` (None
        without ``measure``), ``calibrated``, ``net_config``,
        ``derivation`` (``'window'``, ``'budget'``, ``'argmax'`` or
        ``'given'``), ``window`` and
        ``argmax_predicted`` (the unconstrained derivation's prediction);
        None when the search had no latency budget.
    """
    loss = getattr(algorithm, 'cost_loss', None)
    est = getattr(algorithm, 'estimator', None)
    target = getattr(loss, 'target', None)
    table = getattr(est, 'table', None)
    if target is None or table is None or est.metric != 'latency':
        return None
    how = 'given'
    if arch is None:
        arch, how = budget_arch(algorithm, float(target), window)
    measured = None
    if measure:
        on_cuda = table.metadata.get('device_type') == 'cuda'
        threads = torch.get_num_threads()
        if not on_cuda and table.metadata.get('num_threads'):
            # time with the thread count the table was built with
            torch.set_num_threads(int(table.metadata['num_threads']))
        try:
            measured = measure_nets(table, [arch],
                                    'cuda' if on_cuda else 'cpu',
                                    **timing)[0].value
        finally:
            torch.set_num_threads(threads)
    return dict(target=float(target),
                predicted=float(est.estimate(arch)['latency']),
                measured=measured, calibrated=bool(est.calibrated),
                net_config=arch.to_net_config(), derivation=how,
                window=window,
                argmax_predicted=float(
                    est.estimate(algorithm.mutator.derived_arch())
                    ['latency']),
                arch=arch.to_dict())


def report_budget(runner: Any, **timing: Any) -> Optional[str]:
    """After a search: log :func:`budget_line` and write ``budget.json``
    and ``arch/budget.yaml`` into the work dir (no-op for a run without a
    latency budget). The window is the config's top-level
    ``budget_window`` (default :data:`BUDGET_WINDOW`)."""
    from mmengine.dist import is_main_process
    from mmengine.logging import print_log
    model = getattr(runner.model, 'module', runner.model)
    if not is_main_process() or not hasattr(model, 'mutator'):
        return None
    cfg = getattr(runner, 'cfg', None) or {}
    window = float(cfg.get('budget_window', BUDGET_WINDOW))
    report = check_budget(model, window=window, **timing)
    if report is None:
        return None
    line = budget_line(report)
    arch = DerivedArch.from_dict(report.pop('arch'))
    report['arch_file'] = osp.join('arch', BUDGET_ARCH)
    arch.dump(prepare_output_file(
        osp.join(runner.work_dir, report['arch_file']), 'budget net file'))
    print_log(line, logger='current')
    print_log(derivation_line(report), logger='current')
    dump_json_atomic(report, osp.join(runner.work_dir, BUDGET_FILE))
    return line
