"""The resource loss term of DenseNAS (paper Eq. 8), with a budget mode."""
import math
import warnings
from typing import Any, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from densenas_mm.registry import MODELS
from densenas_mm.utils.options import option_float


class CostWeightWarning(UserWarning):
    """A legal but almost certainly mistaken cost weight (negative: the
    search is rewarded for slower nets)."""


def checked_loss_weight(loss_weight: Any) -> float:
    """``cost_loss.loss_weight`` as a float: a non-number, NaN or inf is an
    error; a negative weight warns (it rewards latency).

    Raises:
        ConfigError: For a weight that is not a finite number.
    """
    weight = option_float('model.cost_loss.loss_weight', loss_weight)
    if weight < 0:
        warnings.warn(
            f'model.cost_loss.loss_weight is {weight} (negative): the cost '
            'term then rewards latency and the search prefers slower nets; '
            'use a positive weight (the paper: 0.15), or 0 to ignore the cost',
            CostWeightWarning,
            stacklevel=3)
    return weight


@MODELS.register_module()
class LatencyLoss(nn.Module):
    """``lambda * log_tau(E[cost])`` or a penalty on the excess over a budget.

    Paper mode (``target=None``), Eq. 8::

        loss = loss_weight * ln(E) / ln(tau)

    Budget mode (``target`` in the cost's unit, e.g. ms): only the excess
    over the budget is penalised, on the same log scale::

        x    = ln(E / target)
        loss = loss_weight * relu(x) / ln(tau)                  (smooth = 0)
        loss = loss_weight * smooth * softplus(x / smooth) / ln(tau)
                                                                (smooth > 0)

    So a net at or under budget gets no (relu) or a vanishing (softplus)
    penalty and its gradient, and a net 10% over budget pays
    ``loss_weight * ln(1.1) / ln(tau)``. ``smooth`` (in log units) rounds the
    kink at the budget; ``smooth * softplus(x / smooth)`` tends to relu(x)
    as ``smooth`` -> 0 and is ``smooth * ln 2`` at the budget.

    With ``under_weight > 0`` a net *under* budget pays too, ``under_weight``
    times the same log-distance (``relu(-x)``, or its softplus), so the
    search is pulled to the budget from both sides (MnasNet's two-sided soft
    constraint, on the log scale): a budget then says "use this much", not
    only "no more than this". ``under_weight=1`` is symmetric.

    Args:
        loss_weight (float): lambda. MBV2 reference: 0.15.
        tau (float): Base of the log, in the cost's unit (> 0, != 1). MBV2
            reference: 15 (ms); ResNet: 3500 / 1700 (MFLOPs).
        target (float, optional): Budget; None for the paper's loss.
        smooth (float): Softness of the budget kink (0 = relu).
        under_weight (float): Weight of the distance *under* the budget
            relative to the excess (0: only the excess is penalised).

    Example:
        >>> loss = MODELS.build(dict(type='densenas_mm.LatencyLoss',
        ...                          loss_weight=0.15, tau=15.0))
        >>> loss(torch.tensor(15.0))   # tensor(0.1500)
    """

    def __init__(self,
                 loss_weight: float = 0.15,
                 tau: float = 15.0,
                 target: Optional[float] = None,
                 smooth: float = 0.0,
                 under_weight: float = 0.0) -> None:
        super().__init__()
        if not (tau > 0 and tau != 1):
            raise ValueError(f'tau must be > 0 and != 1 (it is the base of a '
                             f'log), got {tau}')
        if target is not None and not target > 0:
            raise ValueError(f'target must be > 0 (a cost budget, e.g. ms), '
                             f'got {target}')
        if smooth < 0:
            raise ValueError(f'smooth must be >= 0, got {smooth}')
        if under_weight < 0:
            raise ValueError(f'under_weight must be >= 0, got {under_weight}')
        if under_weight > 0 and target is None:
            raise ValueError('under_weight needs a target (a budget to be '
                             'under); set target=... in ms')
        self.loss_weight = checked_loss_weight(loss_weight)
        self.tau = float(tau)
        self.target = None if target is None else float(target)
        self.smooth = float(smooth)
        self.under_weight = float(under_weight)

    def forward(self, cost: Tensor) -> Tensor:
        """The loss of an expected cost.

        Args:
            cost (Tensor): Scalar expected cost (> 0), e.g. from
                ``ChainedLatencyEstimator.expected_cost``.

        Returns:
            Tensor: Scalar loss.
        """
        cost = torch.as_tensor(cost)
        # Checked here only where it costs no device sync (a CPU cost); on a
        # GPU a cost <= 0 makes the loss non-finite, which the algorithm's
        # step guard stops, naming this cause.
        if cost.device.type == 'cpu' and not bool(torch.all(cost > 0)):
            raise ValueError(f'expected cost must be > 0 to take its log, '
                             f'got {cost.detach().cpu().tolist()}; check the '
                             'latency table (zero or negative entries?)')
        log_tau = math.log(self.tau)
        if self.target is None:
            return self.loss_weight * torch.log(cost) / log_tau
        x = torch.log(cost / self.target)
        penalty = self._hinge(x)
        if self.under_weight > 0:
            penalty = penalty + self.under_weight * self._hinge(-x)
        return self.loss_weight * penalty / log_tau

    def _hinge(self, x: Tensor) -> Tensor:
        """relu(x), or ``smooth * softplus(x / smooth)``."""
        if self.smooth > 0:
            return self.smooth * F.softplus(x / self.smooth)
        return F.relu(x)

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, tau={self.tau}, '
                f'target={self.target}, smooth={self.smooth}, '
                f'under_weight={self.under_weight}')
