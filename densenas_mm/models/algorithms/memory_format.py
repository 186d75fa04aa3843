"""The memory-format policy of the search steps (the ``channels_last``
argument of :class:`~.densenas.DenseNAS`)."""
from typing import Any, Dict, Union

import torch
import torch.nn as nn
from torch import Tensor

#: Values of the ``channels_last`` setting.
CHANNELS_LAST = (True, False, 'auto')


class MemoryFormatPolicy:
    """Which memory format the weights and the batches of the steps use.

    - ``False`` (default): weights and batches stay contiguous;
    - ``True``: the supernet's weights (:meth:`apply_to_model`) and every
      4-d batch are channels-last (faster convolutions on recent GPUs, with
      AMP in particular);
    - ``'auto'``: batches are channels-last on CPU only, where every step
      kind runs faster (docs/benchmarks.md) but PyTorch's channels-last
      BatchNorm accumulates in float32 (the same function, with a larger
      float32 error in the gradients); weights stay contiguous.

    Only ``True`` is a channels-last run for the latency-table check
    (:attr:`memory_format`): ``'auto'`` is a CPU speed choice, not a setting
    of the searched network.

    Args:
        channels_last (bool | str): One of :data:`CHANNELS_LAST`.

    Raises:
        ValueError: For another value (``1``, ``'yes'``, ``None``, ...).
    """

    def __init__(self, channels_last: Union[bool, str] = False) -> None:
        if not (isinstance(channels_last, bool) or channels_last == 'auto'):
            raise ValueError(f'DenseNAS: channels_last must be one of '
                             f'{CHANNELS_LAST}, got {channels_last!r}')
        self.channels_last = channels_last

    @property
    def memory_format(self) -> str:
        """``'channels_last'`` for ``channels_last=True``, else
        ``'contiguous'`` (what a run declares for its latency-table
        check)."""
        return 'channels_last' if self.channels_last is True else 'contiguous'

    def on(self, device: Union[str, torch.device]) -> bool:
        """Whether batches on ``device`` run channels-last."""
        if self.channels_last == 'auto':
            return torch.device(device).type == 'cpu'
        return bool(self.channels_last)

    def apply_to_model(self, model: nn.Module) -> None:
        """Make ``model``'s weights channels-last for ``True`` (a later
        ``Module.to(device)`` keeps their strides); nothing otherwise."""
        if self.channels_last is True:
            model.to(memory_format=torch.channels_last)

    def apply_to_batch(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        """Make a batch's 4-d ``inputs`` channels-last where :meth:`on` says
        so (in place in ``batch``, which is returned)."""
        inputs = batch.get('inputs')
        if isinstance(inputs, Tensor) and inputs.dim() == 4 and self.on(
                inputs.device):
            batch['inputs'] = inputs.contiguous(
                memory_format=torch.channels_last)
        return batch
