"""What a search looks like at one moment: :class:`SearchSnapshot`.

The search loop asks the algorithm for one at the end of every epoch
(``DenseNAS.snapshot``); building it is a query: it reads alpha/beta and
changes nothing (the ops the mutator has in play stay as they are).
"""
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import torch

from densenas_mm.structures import DerivedArch


@dataclass
class SearchSnapshot:
    """The state of a search at one moment (:meth:`DenseNAS.snapshot`).

    Attributes:
        arch (DerivedArch): The derived architecture.
        alpha_entropy (float): Mean entropy of softmax(alpha) (nats).
        beta_entropy (float): Mean entropy of softmax(beta) (nats).
        expected_cost (float, optional): Chained expected cost with every
            op weighted by softmax(alpha); None without an estimator.
        costs (dict): Latency / FLOPs / params of ``arch`` (empty without an
            estimator).
    """
    arch: DerivedArch
    alpha_entropy: float
    beta_entropy: float
    expected_cost: Optional[float] = None
    costs: Dict[str, float] = field(default_factory=dict)


def all_ops_expected_cost(mutator: Any, estimator: Any) -> float:
    """Chained expected cost with every op weighted by softmax(alpha).

    Args:
        mutator: The dense-routing mutator (alpha/beta).
        estimator: A bound chained cost estimator.
    """
    with torch.no_grad():
        return float(estimator.expected_cost(mutator, all_ops=True))


def take_snapshot(mutator: Any,
                  estimator: Optional[Any],
                  meta: Optional[Dict] = None) -> SearchSnapshot:
    """Derived architecture, entropies and costs of the current state.

    Args:
        mutator: The dense-routing mutator.
        estimator (optional): The chained cost estimator; None leaves the
            costs out.
        meta (dict, optional): Metadata of the derived architecture.
    """
    arch = mutator.derived_arch(meta)
    entropies = mutator.entropy()
    expected, costs = None, {}
    if estimator is not None:
        costs = {k: float(v) for k, v in estimator.estimate(arch).items()}
        expected = all_ops_expected_cost(mutator, estimator)
    return SearchSnapshot(arch, entropies['alpha_entropy'],
                          entropies['beta_entropy'], expected, costs)
