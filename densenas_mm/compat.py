"""The few fixes the pinned OpenMMLab stack needs on current PyTorch.

Everything here is applied once by :func:`apply` when ``densenas_mm`` is
imported. Each fix is idempotent, guarded so that it is a no-op where the
upstream bug is absent, and never edits installed files.

1. ``mmrazor.structures.quantization`` (mmrazor 1.0.0) imports names that
   torch >= 2.1 removed from ``torch.ao.quantization`` and then raises
   ``ImportError: torch>=1.13 is not installed properly`` from
   ``import mmrazor.models``. Quantization plays no part in NAS, so the
   package is replaced by a stand-in that offers the two names other mmrazor
   modules import (``BackendConfigs``, ``QConfigHandler``); using the stand-in
   raises a clear error instead of failing at import.
2. ``mmengine.dist.init_dist(launcher='pytorch')`` calls
   ``torch.cuda.set_device`` even with the gloo backend; a CPU-only build of
   torch raises there. We let the call pass as a no-op when CUDA is absent,
   so ``tools/dist_train.sh`` runs on CPU machines (as CI's tests do).
"""
import importlib.machinery
import sys
import types

import torch

_QUANT_PKG = 'mmrazor.structures.quantization'
_APPLIED = False


class _QuantizationUnavailable:
    """Stand-in for mmrazor's ``QConfigHandler``: fails loudly when used."""

    def __init__(self, *args, **kwargs) -> None:
        raise RuntimeError(
            'mmrazor quantization is disabled by densenas_mm.compat: '
            'mmrazor 1.0.0 quantization does not import on torch >= 2.1 and '
            'is not needed for NAS. Use a torch 1.13 environment for '
            'mmrazor quantization algorithms.')


def _install_quantization_stub() -> None:
    """Register the stand-in module unless the real one already imported."""
    existing = sys.modules.get(_QUANT_PKG)
    if existing is not None:
        return
    stub = types.ModuleType(_QUANT_PKG)
    stub.__doc__ = 'Stand-in installed by densenas_mm.compat (see there).'
    stub.__path__ = []  # a package, so that submodule imports fail cleanly
    stub.__spec__ = importlib.machinery.ModuleSpec(
        _QUANT_PKG, loader=None, is_package=True)
    stub.BackendConfigs = {}
    stub.QConfigHandler = _QuantizationUnavailable
    stub.QSchemeHandler = _QuantizationUnavailable
    stub.__all__ = ['BackendConfigs', 'QConfigHandler', 'QSchemeHandler']
    stub.DENSENAS_MM_STUB = True
    sys.modules[_QUANT_PKG] = stub


def _patch_cuda_set_device() -> None:
    """Make ``torch.cuda.set_device`` a no-op on machines without CUDA."""
    original = torch.cuda.set_device
    if getattr(original, '_densenas_mm_patched', False):
        return
    if torch.cuda.is_available():
        return

    def set_device(device) -> None:
        if torch.cuda.is_available():  # pragma: no cover - GPU machines
            original(device)

    set_device._densenas_mm_patched = True  # type: ignore[attr-defined]
    set_device.__wrapped__ = original  # type: ignore[attr-defined]
    torch.cuda.set_device = set_device


def apply() -> None:
    """Apply every fix once; later calls do nothing."""
    global _APPLIED
    if _APPLIED:
        return
    _install_quantization_stub()
    _patch_cuda_set_device()
    _APPLIED = True
