"""A latency budget in real milliseconds: after a search with
``LatencyLoss(target=T)``, the derived net's predicted latency (the
estimator's: calibrated when its table is) and its latency measured end to
end the way the table was measured, as one log line

    budget T: derived X ms predicted, Y ms measured

and ``budget.json`` in the work dir (read by the demo summary).
"""
import os.path as osp
from typing import Any, Dict, Optional

import torch

from densenas_mm.structures import DerivedArch
from densenas_mm.utils.io import dump_json_atomic
from .latency_agreement import measure_nets

BUDGET_FILE = 'budget.json'


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


def check_budget(algorithm: Any,
                 arch: Optional[DerivedArch] = None,
                 measure: bool = True,
                 **timing: Any) -> Optional[Dict[str, Any]]:
    """Predicted and measured latency of a budget search's derived net.

    Args:
        algorithm: A DenseNAS algorithm (``cost_loss``, ``estimator``,
            ``mutator``).
        arch (DerivedArch, optional): The net (default: the mutator's
            derived net now).
        measure (bool): Also time the net (on the table's device type).
        **timing: Round settings of :func:`.latency_audit.measure_like_table`.

    Returns:
        dict, optional: ``target``, ``predicted``, ``measured`` (None
        without ``measure``), ``calibrated``, ``net_config``; None when the
        search had no latency budget.
    """
    loss = getattr(algorithm, 'cost_loss', None)
    est = getattr(algorithm, 'estimator', None)
    target = getattr(loss, 'target', None)
    table = getattr(est, 'table', None)
    if target is None or table is None or est.metric != 'latency':
        return None
    arch = arch or algorithm.mutator.derived_arch()
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
                net_config=arch.to_net_config())


def report_budget(runner: Any, **timing: Any) -> Optional[str]:
    """After a search: log :func:`budget_line` and write ``budget.json``
    into the work dir (no-op for a run without a latency budget)."""
    from mmengine.dist import is_main_process
    from mmengine.logging import print_log
    model = getattr(runner.model, 'module', runner.model)
    if not is_main_process() or not hasattr(model, 'mutator'):
        return None
    report = check_budget(model, **timing)
    if report is None:
        return None
    line = budget_line(report)
    print_log(line, logger='current')
    dump_json_atomic(report, osp.join(runner.work_dir, BUDGET_FILE))
    return line
