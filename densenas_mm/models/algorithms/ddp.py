"""DDP wrapper for DenseNAS: the same train step, run through DDP."""
from typing import Any, Dict, List, Optional

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapperDict
from torch import Tensor

from densenas_mm.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class DenseNASDDP(MMDistributedDataParallel):
    """Distributed wrapper that reuses :meth:`DenseNAS.train_step`.

    The algorithm's step takes the callable that runs the forward; passing
    this wrapper makes the forward go through DDP, so weight gradients and
    alpha/beta gradients are averaged across ranks by DDP itself (alphas and
    betas stay identical on every rank). There is no second copy of the
    step. ``find_unused_parameters`` defaults to True because each step runs
    only the sampled ops; ``device_ids`` is dropped on CPU-only machines
    (gloo), where DDP rejects it.

    Args:
        module (nn.Module): The DenseNAS algorithm.
        device_ids (list[int], optional): CUDA device of this rank.
        find_unused_parameters (bool): Defaults to True.
        **kwargs: Passed to ``DistributedDataParallel``.
    """

    def __init__(self,
                 module: torch.nn.Module,
                 device_ids: Optional[List[int]] = None,
                 find_unused_parameters: bool = True,
                 **kwargs) -> None:
        if not torch.cuda.is_available():
            device_ids = None
        super().__init__(
            module=module,
            device_ids=device_ids,
            find_unused_parameters=find_unused_parameters,
            **kwargs)

    def train_step(self, data: Any,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """Delegate to the algorithm with this wrapper as the forward."""
        return self.module.train_step(data, optim_wrapper, model_call=self)
