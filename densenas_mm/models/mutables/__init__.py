"""DenseNAS mutables: op-level mixed op (alpha) and route (beta)."""
from .mixed_op import DenseNASMixedOp
from .route import DenseNASRoute

__all__ = ['DenseNASMixedOp', 'DenseNASRoute']
