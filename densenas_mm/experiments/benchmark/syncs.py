"""Counting the host-device synchronisation points of a call."""
from typing import Any, Callable, Dict

import torch


def count_sync_points(fn: Callable[[], Any]) -> Dict[str, int]:
    """Count the ops in one call of ``fn`` that synchronise host and device
    when run on CUDA (counted on any device with a dispatch mode):

    - ``item``: ``aten._local_scalar_dense`` (``.item()``, ``float(t)``,
      ``bool(t)``, ``.tolist()`` of a 0-d tensor) -- a device-to-host copy;
    - ``index_from_list``: advanced indexing (``aten.index.Tensor`` /
      ``index_put_``) whose index is a CPU tensor; on CUDA it is copied to
      the device from pageable memory, a blocking copy;
    - ``to_cpu``: ``aten._to_copy`` to the CPU.
    """
    from torch.utils._python_dispatch import TorchDispatchMode
    aten = torch.ops.aten
    counts = dict(item=0, index_from_list=0, to_cpu=0)

    class Counter(TorchDispatchMode):

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func is aten._local_scalar_dense.default:
                counts['item'] += 1
            elif func in (aten.index.Tensor, aten.index_put_.default,
                          aten.index_put.default):
                idx = args[1]
                if any(isinstance(t, torch.Tensor) and t.device.type == 'cpu'
                       and t.dtype in (torch.long, torch.int)
                       for t in idx if t is not None):
                    counts['index_from_list'] += 1
            elif func is aten._to_copy.default:
                dev = kwargs.get('device')
                if dev is not None and torch.device(dev).type == 'cpu' and (
                        args[0].device.type != 'cpu'):
                    counts['to_cpu'] += 1
            return func(*args, **kwargs)

    with Counter():
        fn()
    counts['total'] = sum(counts.values())
    return counts
