"""DenseNAS hooks."""
from .arch_hook import DenseNASArchHook
from .bn_recalibration_hook import DenseNASBNRecalibrationHook
from .checkpoint_hook import DenseNASCheckpointHook, save_runner_checkpoint
from .logger_hook import DenseNASLoggerHook
from .rank_check_hook import DenseNASRankCheckHook
from .timer_hook import DenseNASTimerHook
from .visualization_hook import DenseNASVisualizationHook
from .warmup_hook import DenseNASWarmupHook

__all__ = [
    'DenseNASArchHook', 'DenseNASBNRecalibrationHook',
    'DenseNASCheckpointHook', 'DenseNASLoggerHook',
    'DenseNASRankCheckHook', 'DenseNASTimerHook', 'DenseNASVisualizationHook', 'DenseNASWarmupHook',
    'save_runner_checkpoint'
]
