"""Export the classifier of a config (optionally with weights) to ONNX.

The graph maps a normalised image batch ``input`` (N, C, H, W) to the class
logits ``logits`` (N, num_classes); mean/std normalisation (the config's
``data_preprocessor``) is left to the caller, as in mmdeploy. The batch axis
is dynamic. Unless ``--no-check``, the file is run with ONNX Runtime and
compared with PyTorch (onnx / onnxruntime are optional dependencies: without
them the check is skipped with a message).

Example:
    python tools/deployment/export_onnx.py \
        configs/densenas/subnets/densenas-c_in1k.py work_dirs/c/epoch_240.pth \
        --out densenas_c.onnx --shape 224 224
"""
import argparse
import importlib.util
import inspect
import sys
import warnings
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn


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
    from densenas_mm.utils.io import atomic_path
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


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', nargs='?', help='weights (optional)')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[224, 224],
        help='input H W (one value: square)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument(
        '--dynamo',
        action='store_true',
        help="torch's torch.export-based exporter (needs onnxscript)")
    parser.add_argument(
        '--atol',
        type=float,
        default=1e-4,
        help='tolerated |onnx - torch| relative to max|logit|')
    parser.add_argument(
        '--no-check',
        action='store_true',
        help='skip the ONNX Runtime comparison')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Optional[Dict[str, float]]:
    """Entry point; returns the check result (None when skipped)."""
    args = parse_args(argv)
    from densenas_mm.models.converters.model_io import build_classifier
    h, w = (args.shape * 2)[:2]
    model = build_classifier(args.config, args.checkpoint, args.cfg_options)
    channels = getattr(getattr(model, 'backbone', None), 'in_channels', 3)
    shape = [args.batch_size, channels, h, w]
    export_onnx(model, args.out, shape, args.opset, args.dynamo)
    print(f'exported {args.out} (input {shape}, dynamic batch)')
    if args.no_check:
        return None
    reason = onnx_check_unavailable()
    if reason:
        print(f'SKIP check: {reason}', file=sys.stderr)
        return None
    result = check_onnx(model, args.out, shape)
    tol = args.atol * max(1.0, result['max_abs_logit'])
    ok = result['max_abs_diff'] <= tol
    print(f'ONNX Runtime vs PyTorch: max |diff| {result["max_abs_diff"]:.3e}'
          f' (tolerance {tol:.1e}), top-1 agreement '
          f'{result["argmax_agree"]:.0%} -> {"OK" if ok else "MISMATCH"}')
    if not ok:
        raise SystemExit(1)
    return result


if __name__ == '__main__':
    main()
