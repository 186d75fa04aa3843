"""Device-to-host copies in one transfer.

Every read of a device tensor by the host (``.item()``, ``.tolist()``,
``bool()``, ``.cpu()``) waits for the device to finish its queued work: on a
GPU each such read is a synchronisation that stalls the launch queue. The
search step therefore collects what it must read (the stop flags, the
updated alpha/beta that the next steps sample from, the values it logs) and
reads them with :func:`to_host`, once (the logged scalars stacked into one
tensor first, :func:`stack_scalars`).
"""
from typing import Dict, List, Sequence

import torch
from torch import Tensor


def to_host(tensors: Sequence[Tensor]) -> List[Tensor]:
    """Detached float32 CPU copies of ``tensors``, in one transfer.

    The tensors must live on one device; their shapes are kept.

    Args:
        tensors (Sequence[Tensor]): What to copy (any float or integer
            dtype, any shape).

    Returns:
        list[Tensor]: CPU float32 tensors, one per input, in order.
    """
    if not tensors:
        return []
    flat = torch.cat([t.detach().reshape(-1).float() for t in tensors])
    return [
        part.view(t.shape) for part, t in zip(
            flat.cpu().split([t.numel() for t in tensors]), tensors)
    ]


def stack_scalars(values: Dict[str, Tensor]) -> Tensor:
    """The one-element tensors of ``values`` as one float32 tensor, in
    their order (detached; empty for no values).

    Args:
        values (dict[str, Tensor]): One-element tensors, e.g. a step's log
            values.

    Returns:
        Tensor: Shape ``(len(values),)``, on the values' device.
    """
    if not values:
        return torch.zeros(0)
    return torch.stack(
        [v.detach().float().reshape(()) for v in values.values()])
