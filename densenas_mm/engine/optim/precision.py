"""The compute dtype an optimiser wrapper runs its forward in."""
from typing import Any, Optional

import torch
import torch.nn as nn


def _name(dtype: torch.dtype) -> str:
    return str(dtype).replace('torch.', '')


def compute_dtype(wrapper: Any, model: Optional[nn.Module] = None) -> str:
    """``'float32'``, ``'float16'``, ``'bfloat16'``, ... of a forward run in
    ``wrapper.optim_context``.

    ``AmpOptimWrapper`` / ``AutocastOptimWrapper`` autocast to their
    ``cast_dtype`` (mmengine's AMP default, None, is float16 on CUDA and
    bfloat16 on CPU); a plain wrapper computes in the dtype of the model's
    parameters.

    Args:
        wrapper: An ``OptimWrapper``.
        model (nn.Module, optional): The model it trains.
    """
    from mmengine.optim import AmpOptimWrapper
    cast = getattr(wrapper, 'cast_dtype', None)
    if isinstance(cast, torch.dtype):
        return _name(cast)
    if isinstance(wrapper, AmpOptimWrapper):
        return 'float16' if torch.cuda.is_available() else 'bfloat16'
    param = next(iter(model.parameters()), None) if model is not None \
        else None
    return _name(param.dtype) if param is not None else 'float32'
