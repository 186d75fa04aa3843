"""How the DenseNAS hooks read the search loop's epoch records."""
from mmengine.hooks import Hook

from densenas_mm.engine.runner.epoch_record import EpochRecord


def latest_record(runner, hook: Hook) -> EpochRecord:
    """The record of the epoch that just ended.

    Raises:
        TypeError: If the run's train loop keeps no DenseNAS records.
    """
    record = getattr(runner.train_loop, 'latest_record', None)
    if not isinstance(record, EpochRecord):
        raise TypeError(
            f'{type(hook).__name__} needs the DenseNAS search loop '
            "(train_cfg=dict(type='densenas_mm.DenseNASSearchLoop', ...)), "
            f'got {type(runner.train_loop).__name__}')
    return record
