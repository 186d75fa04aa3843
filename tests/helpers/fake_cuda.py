"""A fake ``cuda:0`` device on a CPU-only machine that enforces CUDA's
same-device rule (for the device-placement tests).

PyTorch's own ``FakeTensorMode`` can place tensors on a fake ``cuda``
device, but on a CPU-only build its autograd aborts the process
("PyTorch is not linked with support for cuda devices" from the autograd
engine's device guard) and its tensors hold no data, so neither a backward
nor the data-dependent parts of a search step (op sampling, finite checks,
derivation) can run under it. :class:`FakeCudaMode` is the equivalent this
project uses: every tensor keeps its real data on the CPU, and a
``TorchFunctionMode`` tracks which tensors *would* live on ``cuda:0``:

- tensors given to :meth:`FakeCudaMode.place` (a module's parameters and
  buffers, a batch) are on the fake device, and ``.device`` /
  ``.is_cuda`` report ``cuda:0`` for them;
- ``.to(...)``, ``.cuda()``, ``.cpu()`` and factories given a ``device``
  move tensors between the fake device and the CPU (a copy, as on a GPU);
- every other torch call puts its tensor results on the fake device when
  any tensor argument is there, and raises CUDA's error when tensors of
  both devices meet (CPU tensors with 0 dimensions pass, as on a GPU:
  CUDA kernels take them as scalars);
- gradients read through ``.grad`` live where their parameter lives (the
  autograd engine itself is C++, outside the mode).

The check covers every call that goes through torch's Python API (every
``torch.*`` function, ``Tensor`` method and ``torch.nn.functional`` call,
so every op of a model's forward, the optimiser's foreach updates and the
loss); it cannot see inside one C++ kernel or the autograd engine, where
CUDA would raise the same errors on the same tensors anyway.
"""
import copy
import os
from typing import Any, Iterable, Optional

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten
from torch.utils.weak import WeakIdKeyDictionary

CUDA = torch.device('cuda', 0)
CPU = torch.device('cpu')

_FACTORY_LIKE = {
    torch.Tensor.new_full, torch.Tensor.new_ones, torch.Tensor.new_zeros,
    torch.Tensor.new_empty, torch.Tensor.new_tensor
}


#: Module.to's argument parser and its check before it swaps a parameter's
#: data: they read their arguments, and move and compute nothing.
_PASS_THROUGH = {
    torch._C._nn._parse_to, torch._has_compatible_shallow_copy_type
}

#: Tensor methods that read a tensor's values into Python: on a GPU each one
#: waits for the device (a host-device synchronisation).
_HOST_READS = {
    torch.Tensor.item, torch.Tensor.tolist, torch.Tensor.__bool__,
    torch.Tensor.__float__, torch.Tensor.__int__, torch.Tensor.__index__,
    torch.Tensor.numpy
}


class CrossDeviceError(RuntimeError):
    """Tensors of the fake ``cuda:0`` and the CPU met in one op."""


def _is_descriptor(func: Any, name: str, method: str = '__get__') -> bool:
    """Whether ``func`` is the getter / setter of ``Tensor.<name>`` (a new
    method-wrapper object on every attribute access)."""
    return (getattr(func, '__self__', None) is getattr(
        torch._C.TensorBase, name) and func.__name__ == method)


def _is_cuda_device(device: Any) -> bool:
    if device is None:
        return False
    return torch.device(device).type == 'cuda'


class FakeCudaMode(TorchFunctionMode):
    """See the module doc.

    Attributes:
        ops (int): Torch calls checked so far.
        host_reads (list[str]): The reads of fake-device values by the host
            so far (``.item()``, ``.tolist()``, ``bool()``, ``.cpu()``,
            ...): each one a host-device synchronisation on a GPU.
    """

    def __init__(self) -> None:
        super().__init__()
        self._on_cuda = WeakIdKeyDictionary()
        self.ops = 0
        self.host_reads = []

    # ------------------------------------------------------------ placing
    def place(self, *objs: Any) -> None:
        """Put tensors, modules (parameters and buffers) or nested
        containers of tensors on the fake device."""
        for obj in objs:
            if isinstance(obj, torch.nn.Module):
                self._mark(list(obj.parameters()) + list(obj.buffers()))
                # mmengine's data preprocessors cast batches to _device
                for m in obj.modules():
                    if hasattr(m, '_device'):
                        m._device = CUDA
            else:
                self._mark(tree_flatten(obj)[0])

    def on_cuda(self, t: torch.Tensor) -> bool:
        """Whether ``t`` is on the fake device."""
        return t in self._on_cuda

    def _mark(self, items: Iterable[Any]) -> None:
        for t in items:
            if isinstance(t, torch.Tensor):
                self._on_cuda[t] = True

    # ----------------------------------------------------------- the mode
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.ops += 1
        if _is_descriptor(func, 'device'):
            return CUDA if self.on_cuda(args[0]) else CPU
        if _is_descriptor(func, 'is_cuda'):
            return self.on_cuda(args[0])
        if func is torch.Tensor.get_device:
            return 0 if self.on_cuda(args[0]) else -1
        if _is_descriptor(func, 'grad') or _is_descriptor(func, 'data'):
            out = func(*args, **kwargs)
            if out is not None and self.on_cuda(args[0]):
                self._mark([out])
            return out
        if func in _PASS_THROUGH:
            return func(*args, **kwargs)
        if _is_descriptor(func, 'data', '__set__'):
            # Module.to / .cuda() swap a parameter's data in place
            tensor, data = args
            out = func(*args, **kwargs)
            if self.on_cuda(data):
                self._mark([tensor])
            else:
                self._on_cuda.pop(tensor, None)
            return out
        if _is_descriptor(func, 'grad', '__set__'):
            param, grad = args
            if grad is not None and self.on_cuda(param) != self.on_cuda(grad):
                raise CrossDeviceError(
                    'assigned a gradient on another device than its '
                    f'parameter ({self._name(grad)} vs {self._name(param)})')
            return func(*args, **kwargs)
        if (func in _HOST_READS and args
                and isinstance(args[0], torch.Tensor)
                and self.on_cuda(args[0])):
            self.host_reads.append(func.__name__)
        moved = self._move(func, args, kwargs)
        if moved is not None:
            return moved
        return self._checked_call(func, args, kwargs)

    def _name(self, t: torch.Tensor) -> str:
        return 'cuda:0' if self.on_cuda(t) else 'cpu'

    def _move(self, func, args, kwargs) -> Optional[Any]:
        """Device changes; None when ``func`` changes no device."""
        if func is torch.Tensor.cuda:
            out = args[0].clone() if not self.on_cuda(args[0]) else args[0]
            self._mark([out])
            return out
        if func is torch.Tensor.cpu:
            if not self.on_cuda(args[0]):
                return args[0]
            self.host_reads.append('cpu')
            return args[0].clone()
        if func is torch.Tensor.to:
            src, rest, kwargs = args[0], list(args[1:]), dict(kwargs)
            if rest and isinstance(rest[0], torch.Tensor):
                other = rest.pop(0)
                dst_cuda = self.on_cuda(other)
                kwargs = dict(kwargs, dtype=other.dtype)
            else:
                device = kwargs.pop('device', None)
                if rest and isinstance(rest[0], (str, torch.device, int)):
                    device = rest.pop(0)
                # Module.to's form: t.to(device, dtype or None, non_blocking)
                if rest and (rest[0] is None
                             or isinstance(rest[0], torch.dtype)):
                    dtype = rest.pop(0)
                    if dtype is not None:
                        kwargs['dtype'] = dtype
                if rest and isinstance(rest[0], bool):
                    kwargs['non_blocking'] = rest.pop(0)
                if device is None:
                    out = func(src, *rest, **kwargs)
                    if out is not src and self.on_cuda(src):
                        self._mark([out])
                    return out
                dst_cuda = _is_cuda_device(device)
            if self.on_cuda(src) and not dst_cuda:
                self.host_reads.append('to')
            copy = kwargs.pop('copy', False) or dst_cuda != self.on_cuda(src)
            out = func(src, *rest, copy=copy, **kwargs)
            if dst_cuda:
                self._mark([out])
            return out
        if 'device' in kwargs and (func in _FACTORY_LIKE or not any(
                isinstance(a, torch.Tensor) for a in tree_flatten(args)[0])):
            dst_cuda = _is_cuda_device(kwargs['device'])
            out = func(*args, **dict(kwargs, device=CPU))
            if dst_cuda:
                self._mark(tree_flatten(out)[0])
            return out
        if func in _FACTORY_LIKE:
            out = func(*args, **kwargs)
            if self.on_cuda(args[0]):
                self._mark([out])
            return out
        return None

    def _checked_call(self, func, args, kwargs) -> Any:
        tensors = [
            t for t in tree_flatten((args, kwargs))[0]
            if isinstance(t, torch.Tensor)
        ]
        cuda = [t for t in tensors if self.on_cuda(t)]
        if cuda:
            host = [t for t in tensors if not self.on_cuda(t) and t.dim() > 0]
            if host:
                name = getattr(func, '__qualname__', None) or getattr(
                    func, '__name__', repr(func))
                raise CrossDeviceError(
                    'Expected all tensors to be on the same device, but found '
                    f'at least two devices, cuda:0 and cpu! ({name}: cpu '
                    f'tensor of shape {tuple(host[0].shape)} with a cuda:0 '
                    f'tensor of shape {tuple(cuda[0].shape)})')
        out = func(*args, **kwargs)
        if cuda:
            self._mark(tree_flatten(out)[0])
        return out


def build_search(config: str, preset: Optional[str], monkeypatch) -> tuple:
    """``(algorithm, optim wrapper)`` of a search config, built on the CPU
    through the registries; ``preset`` swaps in another space (then, like
    a space without a shipped table, with the FLOPs cost: same code path).
    """
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    from densenas_mm.registry import MODELS
    from densenas_mm.search_space import load_preset

    from helpers import REPO_ROOT
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('densenas_fake_cuda', scope_name='mmcls')
    monkeypatch.chdir(REPO_ROOT)
    cfg = Config.fromfile(config)
    model = copy.deepcopy(cfg.model)
    if preset is not None:
        space = load_preset(preset)
        model.architecture.backbone.search_space = space.to_dict()
        model.architecture.head.update(
            in_channels=space.last_dim, num_classes=space.num_classes)
    if preset is not None or not os.path.isfile(
            os.path.join(REPO_ROOT, str(model.estimator.get('lut')))):
        model.estimator.update(metric='flops', lut=None)
    torch.manual_seed(0)
    algo = MODELS.build(model)
    optim = build_optim_wrapper(algo, copy.deepcopy(cfg.optim_wrapper))
    return algo, optim


def resized_batch(n: int, px: int, classes: int, seed: int) -> dict:
    """A fake image batch of ``n`` images resized to ``px`` x ``px``."""
    from helpers.search import fake_batch
    batch = fake_batch(n, seed=seed, num_classes=classes)
    batch['inputs'] = [
        torch.nn.functional.interpolate(x[None].float(),
                                        size=(px, px)).to(torch.uint8)[0]
        for x in batch['inputs']
    ]
    return batch
