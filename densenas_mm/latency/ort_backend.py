"""ONNX Runtime's CPU execution provider as a timing backend.

A module to time is exported to ONNX (in memory, TorchScript exporter) and
run by an ``InferenceSession`` on the CPU execution provider with as many
intra-op threads as torch uses; :class:`OrtModule` wraps the session as a
module, so the project's timing loops time it like any other. Tables timed
this way record ``backend='onnxruntime-cpu'`` (:data:`~.schema.BACKENDS`).
"""
import importlib.util
import io
import warnings

import torch
import torch.nn as nn

from .schema import BACKENDS, LatencyTableError, table_backend

ORT_BACKEND = 'onnxruntime-cpu'


def check_backend(backend: str, device: str = 'cpu', dtype: str = 'float32',
                  memory_format: str = 'contiguous') -> str:
    """Return ``backend`` if it can time ``device`` / ``dtype`` /
    ``memory_format``.

    Raises:
        ValueError: For an unknown backend, ONNX Runtime on another device
            than the CPU or another dtype / memory format than float32 /
            contiguous, or ONNX Runtime not installed.
    """
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {list(BACKENDS)}, got '
                         f'{backend!r}')
    if backend != ORT_BACKEND:
        return backend
    if str(device) != 'cpu' or dtype != 'float32' or (
            memory_format != 'contiguous'):
        raise ValueError(
            f'backend {ORT_BACKEND!r} times float32 contiguous inputs on '
            f'the CPU, got device {device!r}, dtype {dtype!r}, memory '
            f'format {memory_format!r}')
    missing = [m for m in ('onnx', 'onnxruntime')
               if importlib.util.find_spec(m) is None]
    if missing:
        raise ValueError(f'backend {ORT_BACKEND!r} needs {missing} (pip '
                         'install onnx onnxruntime)')
    return backend


class OrtModule(nn.Module):
    """``module`` exported to ONNX and run by ONNX Runtime (CPU EP).

    Args:
        module (nn.Module): The module (on the CPU, float32, eval mode).
        example (Tensor): An input of the shape it will be called with.
        threads (int, optional): Intra-op threads; default torch's.
    """

    def __init__(self, module: nn.Module, example: torch.Tensor,
                 threads: int = None) -> None:
        super().__init__()
        import onnxruntime as ort
        buf = io.BytesIO()
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter('ignore')
            torch.onnx.export(
                module.eval(), (example, ), buf, input_names=['x'],
                output_names=['y'], opset_version=17, dynamo=False)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or torch.get_num_threads()
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(
            buf.getvalue(), opts, providers=['CPUExecutionProvider'])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the session on ``x`` (a CPU tensor)."""
        return torch.from_numpy(self.session.run(None, {'x': x.numpy()})[0])


def on_backend(module: nn.Module, example: torch.Tensor,
               backend: str = 'torch') -> nn.Module:
    """``module`` itself for ``'torch'``, else wrapped by
    :class:`OrtModule` (``example``: an input of the timed shape)."""
    if backend == ORT_BACKEND:
        return OrtModule(module, example)
    return module


def timing_backend(metadata: dict, source: str, backend: str = None) -> str:
    """The backend to time with for a table: its own, or ``backend`` if
    that is the same.

    Raises:
        LatencyTableError: When ``backend`` differs from the table's (its
            entries would describe another runtime than the one timed).
    """
    mine = table_backend(metadata)
    if backend is None or backend == mine:
        return mine
    raise LatencyTableError(
        f'latency table {source} was timed with backend {mine!r}, not '
        f'{backend!r}: its entries describe that runtime. Build a table '
        f'with tools/build_latency_lut.py --backend {backend} to time '
        f'{backend!r}, or time with --backend {mine}')
