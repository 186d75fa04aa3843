"""Export the classifier of a config (optionally with weights) to ONNX.

The graph maps a normalised image batch ``input`` (N, C, H, W) to the class
logits ``logits`` (N, num_classes); mean/std normalisation (the config's
``data_preprocessor``) is left to the caller, as in mmdeploy. The batch axis
is dynamic. Unless ``--no-check``, the file is run with ONNX Runtime and
compared with PyTorch (onnx / onnxruntime are optional dependencies: without
them the check is skipped with a message).

Example:
    python tools/deployment/export_onnx.py \
        configs/densenas/subnets/densenas_subnet-c_8xb128-240e_in1k.py work_dirs/c/epoch_240.pth \
        --out densenas_c.onnx --shape 224 224
"""
# densenas_mm first: its compat fixes must precede any mmrazor import.
import densenas_mm  # noqa: F401  # isort: skip

import argparse
import sys
from typing import Dict, List, Optional

from densenas_mm.apis.cli import add_cfg_options, add_shape, emit, run_cli
from densenas_mm.apis.export import export_and_check


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', nargs='?', help='weights (optional)')
    parser.add_argument('--out', required=True, help='output .onnx file')
    add_shape(parser)
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
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Optional[Dict[str, float]]:
    """Entry point; returns the check result (None when skipped); exits 1
    when ONNX Runtime and PyTorch disagree."""
    output = export_and_check(**vars(parse_args(argv)))
    emit(output, exit_on_error=True)
    return output.result


if __name__ == '__main__':
    sys.exit(run_cli(main))
