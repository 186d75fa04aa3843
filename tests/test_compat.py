"""densenas_mm.compat: mmrazor imports on current torch, idempotent fixes."""
import subprocess
import sys

import pytest
import torch

import densenas_mm  # noqa: F401  (applies compat)
from densenas_mm import compat


def test_mmrazor_models_import_after_densenas_mm():
    import mmrazor.models
    from mmrazor.models import BaseAlgorithm
    assert mmrazor.models.__name__ == 'mmrazor.models'
    assert isinstance(BaseAlgorithm, type)


def test_fresh_interpreter_imports_mmrazor_models():
    """The fix must hold from a clean start, where the bug bites."""
    code = ('import densenas_mm, mmrazor.models, sys; '
            "print(sys.modules['mmrazor.structures.quantization']"
            '.DENSENAS_MM_STUB)')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == 'True'


def test_apply_is_idempotent(monkeypatch):
    stub = sys.modules['mmrazor.structures.quantization']
    set_device = torch.cuda.set_device
    compat.apply()
    # even when forced to run again, no fix is applied twice
    monkeypatch.setattr(compat, '_APPLIED', False)
    compat.apply()
    assert compat._APPLIED
    assert sys.modules['mmrazor.structures.quantization'] is stub
    assert torch.cuda.set_device is set_device
    if not torch.cuda.is_available():
        assert getattr(set_device, '_densenas_mm_patched', False)
        # wrapped exactly once: the wrapped function is torch's own
        assert not getattr(set_device.__wrapped__, '_densenas_mm_patched',
                           False)
        set_device(0)  # a no-op without CUDA, no error


def test_quantization_stub_raises_clearly():
    from mmrazor.structures.quantization import BackendConfigs, QConfigHandler
    assert BackendConfigs == {}
    with pytest.raises(RuntimeError, match='quantization is disabled'):
        QConfigHandler(dict(w_qscheme=dict()))
    with pytest.raises(ImportError):
        import mmrazor.structures.quantization.backend_config  # noqa: F401
