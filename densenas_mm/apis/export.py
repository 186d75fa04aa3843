"""ONNX export of an mmcls classifier, and its check with ONNX Runtime.

The graph maps a normalised image batch ``input`` (N, C, H, W) to the class
logits ``logits`` (N, num_classes); mean/std normalisation (the config's
``data_preprocessor``) is left to the caller, as in mmdeploy. The batch axis
is dynamic. onnx / onnxruntime are optional dependencies: without them
:func:`onnx_check_unavailable` says what is missing.
"""
import importlib.util
import inspect
import warnings
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn

from densenas_mm.utils.io import atomic_path


class LogitsWrapper(nn.Module):
    """``model(x, mode='tensor')`` (image -> logits) as a plain module."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x, mode='tensor')
        return out[-1] if isinstance(out, (tuple, list)) else out


def onnx_check_unavailable() -> Optional[str]:
    """None when onnx and onnxruntime import, else what is missing."""
    missing = [
        m for m in ('onnx', 'onnxruntime')
        if importlib.util.find_spec(m) is None
    ]
    if missing:
        return (f'{" and ".join(missing)} not installed (pip install onnx '
                'onnxruntime), so the ONNX Runtime check is skipped')
    return None


def export_onnx(model: nn.Module,
                out: str,
                input_shape: Sequence[int],
                opset: int = 17,
                dynamo: bool = False) -> None:
    """Write ``model`` (an mmcls classifier) as ONNX.

    Args:
        model (nn.Module): The classifier.
        out (str): Output ``.onnx`` path (written via a temp file + rename).
        input_shape (Sequence[int]): ``(N, C, H, W)`` of the example input.
        opset (int): ONNX opset.
        dynamo (bool): Use torch's ``torch.export``-based exporter (needs
            ``onnxscript``) instead of the TorchScript one.
    """
    wrapper = LogitsWrapper(model).eval()
    example = torch.randn(*input_shape)
    kwargs = dict(
        input_names=['input'],
        output_names=['logits'],
        opset_version=opset,
        dynamic_axes={
            'input': {
                0: 'batch'
            },
            'logits': {
                0: 'batch'
            }
        })
    if 'dynamo' in inspect.signature(torch.onnx.export).parameters:
        kwargs['dynamo'] = dynamo
    with atomic_path(out, suffix='.onnx') as tmp, \
            warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(wrapper, (example, ), tmp, **kwargs)


def check_onnx(model: nn.Module,
               path: str,
               input_shape: Sequence[int],
               seed: int = 0) -> Dict[str, float]:
    """Run ``path`` with ONNX Runtime and compare with PyTorch.

    A batch twice the export batch is used, so the dynamic axis is checked.

    Returns:
        dict: ``max_abs_diff``, ``max_abs_logit`` and ``argmax_agree``
        (fraction of images with the same top-1 class).
    """
    import onnx
    import onnxruntime as ort
    onnx.checker.check_model(onnx.load(path))
    gen = torch.Generator().manual_seed(seed)
    shape = [input_shape[0] * 2] + list(input_shape[1:])
    x = torch.randn(*shape, generator=gen)
    with torch.no_grad():
        ref = LogitsWrapper(model).eval()(x).numpy()
    sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    got = sess.run(['logits'], {'input': x.numpy()})[0]
    if got.shape != ref.shape:
        raise AssertionError(f'ONNX output shape {got.shape} != PyTorch '
                             f'{ref.shape}')
    return dict(
        max_abs_diff=float(abs(got - ref).max()),
        max_abs_logit=float(abs(ref).max()),
        argmax_agree=float((got.argmax(1) == ref.argmax(1)).mean()))
