"""What one search epoch did: the record the search loop keeps.

:class:`DenseNASSearchLoop` appends one :class:`EpochRecord` to its
``records`` at the end of every training epoch, before the
``after_train_epoch`` hooks run. The hooks observe it (the architecture hook
writes ``record.arch``, the visualisation hook draws it): data passes from
the loop to the hooks through this explicit state, not through message-hub
keys or hook priorities.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional

from densenas_mm.structures import DerivedArch


@dataclass
class EpochRecord:
    """One training epoch of a DenseNAS search.

    Attributes:
        epoch (int): The epoch, counted from 1.
        phase (str): ``'warmup'`` or ``'search'`` (architecture updates on).
        arch (DerivedArch): The architecture derived after the epoch; its
            ``meta`` holds epoch, phase and costs.
        alpha_entropy (float): Mean entropy of softmax(alpha) (nats).
        beta_entropy (float): Mean entropy of softmax(beta) (nats).
        expected_cost (float, optional): Chained expected cost with every op
            weighted by softmax(alpha), in the estimator's metric.
        costs (dict): Latency / FLOPs / params of ``arch``.
        cost_metric (str, optional): The estimator's metric.
        weight_means (dict): Epoch means of the weight steps' log values.
        arch_means (dict): Epoch means of the architecture steps' log values
            (keys prefixed ``arch_``; empty during warm-up).
        weight_steps (int): Weight steps run in the epoch.
        arch_steps (int): Architecture steps run in the epoch.
    """
    epoch: int
    phase: str
    arch: DerivedArch
    alpha_entropy: float
    beta_entropy: float
    expected_cost: Optional[float] = None
    costs: Dict[str, float] = field(default_factory=dict)
    cost_metric: Optional[str] = None
    weight_means: Dict[str, float] = field(default_factory=dict)
    arch_means: Dict[str, float] = field(default_factory=dict)
    weight_steps: int = 0
    arch_steps: int = 0

    @property
    def derived_cost(self) -> Optional[float]:
        """The derived architecture's cost in the estimator's metric."""
        if self.cost_metric is None:
            return None
        return self.costs.get(self.cost_metric)
