"""An optimiser wrapper that runs its forward under ``torch.autocast``."""
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from densenas_mm.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` runs under autocast.

    mmengine's ``AmpOptimWrapper`` refuses to run without an accelerator;
    this wrapper autocasts on any device type and does no loss scaling, so
    it is meant for bfloat16 (e.g. mixed-precision benchmarks on CPU). On
    GPUs use ``AmpOptimWrapper``.

    Args:
        dtype (str): ``'bfloat16'`` or ``'float16'``.
        device_type (str): ``'cpu'`` or ``'cuda'``.
        **kwargs: Passed to ``OptimWrapper``.

    Example:
        >>> optim_wrapper = dict(type='densenas_mm.AutocastOptimWrapper',
        ...                      dtype='bfloat16', device_type='cpu',
        ...                      optimizer=dict(type='SGD', lr=0.1))
    """

    def __init__(self,
                 dtype: str = 'bfloat16',
                 device_type: str = 'cpu',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(
                f"dtype must be 'bfloat16' or 'float16', got {dtype!r}")
        self.cast_dtype = getattr(torch, dtype)
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """The parent's context (gradient accumulation), under autocast."""
        with super().optim_context(model), torch.autocast(
                self.device_type, dtype=self.cast_dtype):
            yield
