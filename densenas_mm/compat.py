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
3. ``mmcls.apis.inference_model`` (mmcls 1.0.0rc6) fails on mmengine >=
   0.8 with ``'ImageClassificationInferencer' object has no attribute
   'show_progress'``: mmengine's ``BaseInferencer.__call__`` reads an
   attribute that only ``BaseInferencer.__init__`` sets, and mmcls's
   inferencer does not call it. The inferencer gets the attribute as a
   class default (``False``: no progress bar, as mmcls intended). mmcls is
   heavy to import, so the fix is applied when ``mmcls.apis.inference`` is
   imported (a post-import hook on ``sys.meta_path``), or at once if it
   already is.
4. ``mmcv.cnn.bricks.transformer`` (imported by mmcls and mmrazor) warns
   ``Fail to import MultiScaleDeformableAttention ... install mmcv rather
   than mmcv-lite`` on every run of every tool: mmcv-lite has no compiled
   ops, and no DenseNAS model uses that op. That one warning (its message,
   category and module) is filtered; every other warning is shown. Where
   full mmcv is installed the warning is not issued anyway.
"""
import importlib.abc
import importlib.machinery
import inspect
import sys
import types
import warnings
from typing import Callable, Dict

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


_INFERENCE_MODULE = 'mmcls.apis.inference'


def _fix_inferencer_progress(module: types.ModuleType) -> None:
    """Give mmcls's inferencer the ``show_progress`` mmengine reads."""
    from mmengine.infer import BaseInferencer
    cls = getattr(module, 'ImageClassificationInferencer', None)
    if cls is None or hasattr(cls, 'show_progress'):
        return  # fixed already, or an mmcls that has the attribute
    if 'show_progress' not in inspect.signature(
            BaseInferencer.__init__).parameters:
        return  # an mmengine whose __call__ does not read it
    cls.show_progress = False


class _PatchingLoader(importlib.abc.Loader):
    """Runs a module's own loader, then a fix on the loaded module."""

    def __init__(self, loader: importlib.abc.Loader,
                 fix: Callable[[types.ModuleType], None]) -> None:
        self._loader = loader
        self._fix = fix

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self._loader.exec_module(module)
        self._fix(module)

    def __getattr__(self, name: str):
        # get_source, get_code, ... of the wrapped loader (tracebacks)
        return getattr(self._loader, name)


class _PostImportFixes(importlib.abc.MetaPathFinder):
    """Applies a fix to a module right after its first import."""

    def __init__(self) -> None:
        self.fixes: Dict[str, Callable[[types.ModuleType], None]] = {}

    def find_spec(self, name, path, target=None):
        fix = self.fixes.get(name)
        if fix is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _PatchingLoader(spec.loader, fix)
                return spec
        return None


def _post_import_fixes() -> _PostImportFixes:
    """The one finder of this module on ``sys.meta_path``."""
    for finder in sys.meta_path:
        if isinstance(finder, _PostImportFixes):
            return finder
    finder = _PostImportFixes()
    sys.meta_path.insert(0, finder)
    return finder


def _when_imported(name: str, fix: Callable[[types.ModuleType],
                                            None]) -> None:
    """Apply ``fix`` to module ``name`` now if loaded, else on import."""
    if name in sys.modules:
        fix(sys.modules[name])
    else:
        _post_import_fixes().fixes[name] = fix


def _silence_mmcv_lite_ops_warning() -> None:
    """Filter mmcv-lite's MultiScaleDeformableAttention import warning
    (fix 4), and nothing else."""
    warnings.filterwarnings(
        'ignore',
        message=r'Fail to import ``MultiScaleDeformableAttention``',
        category=UserWarning,
        module=r'mmcv\.cnn\.bricks\.transformer')


def apply() -> None:
    """Apply every fix once; later calls do nothing."""
    global _APPLIED
    if _APPLIED:
        return
    _silence_mmcv_lite_ops_warning()
    _install_quantization_stub()
    _patch_cuda_set_device()
    _when_imported(_INFERENCE_MODULE, _fix_inferencer_progress)
    _APPLIED = True
