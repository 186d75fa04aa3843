"""Cost estimation for DenseNAS: counting, chained expected cost, loss."""
from .chained_cost import (SpaceCosts, chained_expected_cost,
                           chained_node_costs, expected_cost_from,
                           mixed_op_cost, space_costs)
from .chained_latency_estimator import ChainedLatencyEstimator
from .complexity import (NOT_COUNTED, Complexity, count_complexity,
                         signature_complexity, signature_flops,
                         signature_params)
from .estimator_settings import ModuleCounting, TableTarget
from .latency_loss import LatencyLoss

__all__ = [
    'ChainedLatencyEstimator', 'TableTarget', 'ModuleCounting', 'LatencyLoss', 'SpaceCosts', 'space_costs',
    'chained_expected_cost', 'chained_node_costs', 'expected_cost_from',
    'mixed_op_cost', 'NOT_COUNTED', 'Complexity', 'count_complexity',
    'signature_complexity', 'signature_flops', 'signature_params'
]
