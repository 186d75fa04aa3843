"""densenas_mm.compat: mmrazor imports on current torch, idempotent fixes."""
import subprocess
import sys

import pytest
import torch

import densenas_mm  # noqa: F401  (applies compat)
from densenas_mm import compat
from helpers.tools import run_python


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


INFER_SCRIPT = """
import os, sys, tempfile
import cv2, numpy as np, torch
{prelude}
from mmcls.apis import inference_model, init_model
model = init_model({config!r}, device='cpu')
path = os.path.join(tempfile.mkdtemp(), 'digit.png')
img = np.random.default_rng(0).integers(0, 256, (32, 32, 3)).astype('uint8')
cv2.imwrite(path, img)
result = inference_model(model, path)
data = model.data_preprocessor(
    dict(inputs=[torch.from_numpy(img).permute(2, 0, 1)]), False)
with torch.no_grad():
    probs = model(data['inputs'], mode='tensor').softmax(1)[0].numpy()
print(result['pred_label'], int(probs.argmax()),
      float(abs(result['pred_scores'] - probs).max()),
      round(result['pred_score'], 6) == round(float(probs.max()), 6),
      result['pred_scores'].shape[0])
"""
SUBNET_CONFIG = 'configs/densenas/subnets/densenas_subnet-demo_1xb32-10e_digits.py'


def test_mmcls_inference_model_works_after_densenas_mm():
    out = run_python(
        INFER_SCRIPT.format(prelude='import densenas_mm',
                            config=SUBNET_CONFIG))
    label, argmax, diff, same_max, n = out.split()[-5:]
    assert label == argmax and float(diff) < 1e-6
    assert same_max == 'True' and n == '10'


def test_mmcls_inferencer_lacks_show_progress_without_the_fix():
    """The upstream bug the fix is guarded against (mmcls 1.0.0rc6 with
    mmengine >= 0.8): mmengine's __call__ reads an attribute mmcls's
    inferencer never sets. (Any densenas_mm config fixes it too: its
    custom_imports import densenas_mm.)"""
    code = ('import inspect; from mmengine.infer import BaseInferencer; '
            'from mmcls.apis.inference import ImageClassificationInferencer '
            'as I; '
            "print('self.show_progress' in inspect.getsource("
            "BaseInferencer.__call__), hasattr(I, 'show_progress'))")
    assert run_python(code).split()[-2:] == ['True', 'False']


def test_inference_fix_waits_for_mmcls_and_applies_once():
    code = ('import sys, densenas_mm; from densenas_mm import compat; '
            "before = 'mmcls.apis.inference' in sys.modules; "
            'compat._APPLIED = False; compat.apply(); '
            'from mmcls.apis.inference import ImageClassificationInferencer '
            'as I; '
            'n = sum(isinstance(f, compat._PostImportFixes) '
            'for f in sys.meta_path); '
            "print(before, I.show_progress, n)")
    assert run_python(code).split()[-3:] == ['False', 'False', '1']
