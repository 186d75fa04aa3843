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
from typing import Any, Dict, Optional, Sequence

import torch
import torch.nn as nn

from densenas_mm.utils.io import atomic_path
from .cli import ToolOutput
from .cli import resolve_input_shape
from .model_io import build_classifier, load_config


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


def export_and_check(config: str,
                     out: str,
                     checkpoint: Optional[str] = None,
                     shape: Optional[Sequence[int]] = None,
                     batch_size: int = 1,
                     opset: int = 17,
                     dynamo: bool = False,
                     atol: float = 1e-4,
                     no_check: bool = False,
                     cfg_options: Optional[Dict[str, Any]] = None
                     ) -> ToolOutput:
    """Export a config's classifier to ONNX and compare ONNX Runtime with
    PyTorch (``tools/deployment/export_onnx.py``'s job).

    Args:
        config (str): Model config.
        out (str): Output ``.onnx`` file.
        checkpoint (str, optional): Weights.
        shape (Sequence[int], optional): Input H W (one value: square);
            default: the model's own (see
            :func:`~.cli.default_input_size`).
        batch_size (int): Export batch size (the batch axis is dynamic).
        opset (int): ONNX opset.
        dynamo (bool): torch's ``torch.export``-based exporter.
        atol (float): Tolerated ``|onnx - torch|`` relative to
            ``max|logit|``.
        no_check (bool): Skip the ONNX Runtime comparison.
        cfg_options (dict, optional): Config overrides.

    Returns:
        ToolOutput: The report and the check's result (None when skipped);
        status 1 when ONNX Runtime and PyTorch disagree.
    """
    cfg = load_config(config, cfg_options)
    model = build_classifier(cfg, checkpoint)
    in_shape, _ = resolve_input_shape(model, cfg, batch_size, shape)
    export_onnx(model, out, in_shape, opset, dynamo)
    text = f'exported {out} (input {in_shape}, dynamic batch)'
    if no_check:
        return ToolOutput(0, text)
    reason = onnx_check_unavailable()
    if reason:
        return ToolOutput(0, text, err=f'SKIP check: {reason}')
    result = check_onnx(model, out, in_shape)
    tol = atol * max(1.0, result['max_abs_logit'])
    ok = result['max_abs_diff'] <= tol
    text += (f'\nONNX Runtime vs PyTorch: max |diff| '
             f'{result["max_abs_diff"]:.3e} (tolerance {tol:.1e}), top-1 '
             f'agreement {result["argmax_agree"]:.0%} -> '
             f'{"OK" if ok else "MISMATCH"}')
    return ToolOutput(0 if ok else 1, text, result=result)
