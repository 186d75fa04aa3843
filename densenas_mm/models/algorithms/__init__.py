"""DenseNAS algorithm, its step tags and its distributed wrapper."""
from .ddp import DenseNASDDP
from .densenas import WEIGHT_PATHS, WEIGHT_SAMPLING, DenseNAS
from .guards import DivergenceGuard, StepGuards, checkpoint_note
from .memory_format import CHANNELS_LAST, MemoryFormatPolicy
from .optimisers import GRAD_ZEROING
from .snapshot import SearchSnapshot
from .steps import (PHASES, SAMPLING_OF_PHASE, batch_stat_bn, bn_state,
                    load_bn_state, recalibrate_bn, search_batch, step_seed)

__all__ = [
    'DenseNAS', 'DenseNASDDP', 'SearchSnapshot', 'SAMPLING_OF_PHASE',
    'GRAD_ZEROING', 'WEIGHT_PATHS', 'WEIGHT_SAMPLING', 'CHANNELS_LAST', 'PHASES',
    'batch_stat_bn', 'bn_state', 'load_bn_state', 'recalibrate_bn', 'search_batch', 'step_seed',
    'DivergenceGuard', 'StepGuards', 'checkpoint_note', 'MemoryFormatPolicy'
]
