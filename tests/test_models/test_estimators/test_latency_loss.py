"""LatencyLoss: paper Eq. 8 and the budget mode."""
import math

import pytest
import torch

import densenas_mm  # noqa: F401
from densenas_mm.models.estimators import LatencyLoss
from densenas_mm.registry import MODELS


def test_paper_mode_values_and_gradient():
    loss = MODELS.build(dict(type='densenas_mm.LatencyLoss'))
    assert isinstance(loss, LatencyLoss)
    assert (loss.loss_weight, loss.tau, loss.target) == (0.15, 15.0, None)
    assert float(loss(torch.tensor(15.0))) == pytest.approx(0.15)
    cost = torch.tensor(30.0, dtype=torch.float64, requires_grad=True)
    out = loss(cost)
    assert float(out.detach()) == pytest.approx(0.15 * math.log(30) /
                                                math.log(15))
    out.backward()
    assert float(cost.grad) == pytest.approx(0.15 / (30 * math.log(15)))


def test_budget_mode_penalises_only_excess():
    loss = LatencyLoss(loss_weight=0.2, tau=3500.0, target=20.0)
    under = torch.tensor(18.0, requires_grad=True)
    value = loss(under)
    value.backward()
    assert float(value.detach()) == 0.0 and float(under.grad) == 0.0
    over = torch.tensor(22.0)
    assert float(loss(over)) == pytest.approx(
        0.2 * math.log(22 / 20) / math.log(3500), rel=1e-6)


def test_budget_mode_smooth():
    loss = LatencyLoss(loss_weight=1.0, tau=math.e, target=10.0, smooth=0.05)
    at = float(loss(torch.tensor(10.0)))
    assert at == pytest.approx(0.05 * math.log(2), rel=1e-6)
    far = float(loss(torch.tensor(20.0)))
    assert far == pytest.approx(math.log(2), rel=1e-3)
    assert 0 < float(loss(torch.tensor(5.0))) < 1e-5


def test_two_sided_budget_pulls_from_both_sides():
    loss = LatencyLoss(loss_weight=0.5, tau=math.e, target=10.0,
                       under_weight=0.5)
    assert float(loss(torch.tensor(10.0))) == 0.0
    over = float(loss(torch.tensor(12.0)))
    assert over == pytest.approx(0.5 * math.log(1.2), rel=1e-6)
    under = torch.tensor(8.0, requires_grad=True)
    value = loss(under)
    value.backward()
    assert float(value.detach()) == pytest.approx(
        0.5 * 0.5 * math.log(10 / 8), rel=1e-6)
    # under budget the gradient says: grow
    assert float(under.grad) == pytest.approx(-0.25 / 8, rel=1e-6)


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match='tau must be > 0 and != 1'):
        LatencyLoss(tau=1.0)
    with pytest.raises(ValueError, match='target must be > 0'):
        LatencyLoss(target=0.0)
    with pytest.raises(ValueError, match='smooth must be >= 0'):
        LatencyLoss(smooth=-1)
    with pytest.raises(ValueError, match='under_weight must be >= 0'):
        LatencyLoss(target=5.0, under_weight=-1)
    with pytest.raises(ValueError, match='needs a target'):
        LatencyLoss(under_weight=1.0)
    with pytest.raises(ValueError, match='expected cost must be > 0'):
        LatencyLoss()(torch.tensor(0.0))
