"""Cost estimation for DenseNAS: chained expected cost, estimator, loss."""
from .chained_cost import (SpaceCosts, chained_expected_cost,
                           chained_node_costs, expected_cost_from,
                           mixed_op_cost, space_costs)
from .chained_latency_estimator import ChainedLatencyEstimator
from .latency_loss import LatencyLoss

__all__ = [
    'ChainedLatencyEstimator', 'LatencyLoss', 'SpaceCosts', 'space_costs',
    'chained_expected_cost', 'chained_node_costs', 'expected_cost_from',
    'mixed_op_cost'
]
