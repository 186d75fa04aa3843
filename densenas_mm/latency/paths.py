"""The one naming rule of latency-table files (in ``work_dirs/latency/``)::

    <space>_<device>_b<batch>[_t<threads>][_<dtype>][_cl][_ort].json

- ``device``: ``cpu``, the GPU's name with every run of other characters
  replaced by ``-`` (``NVIDIA-H100-80GB-HBM3``), or ``ref`` for a table
  imported from the paper's code;
- ``_t<threads>``: the CPU thread count, when it was fixed (CPU latency
  depends on it);
- ``_<dtype>`` unless float32, ``_cl`` for channels-last, ``_ort`` for
  the ONNX Runtime CPU backend.

``tools/build_latency_lut.py`` writes there by default (``--print-path``
prints the name and exits), ``tools/demo.sh`` asks the builder for it, and
the demo search config's ``lut_file`` is the name for 32 images on one CPU
thread, so the three agree.
"""
import os.path as osp
import re
from typing import Optional

LATENCY_DIR = osp.join('work_dirs', 'latency')


def device_tag(device: str) -> str:
    """``'cpu'``, ``'ref'``, or the sanitised name of a CUDA device."""
    if device in ('cpu', 'ref'):
        return device
    if not str(device).startswith('cuda'):
        raise ValueError(f"device must be 'cpu', 'ref' or 'cuda[:N]', got "
                         f'{device!r}')
    import torch
    return re.sub(r'[^A-Za-z0-9]+', '-',
                  torch.cuda.get_device_name(device)).strip('-')


def table_path(space: str,
               device: str,
               batch_size: int,
               threads: Optional[int] = None,
               dtype: str = 'float32',
               channels_last: bool = False,
               folder: str = LATENCY_DIR,
               backend: str = 'torch') -> str:
    """The file name of a table by the rule above.

    Args:
        space (str): Search-space name (``SearchSpace.name``).
        device (str): ``'cpu'``, ``'ref'`` or ``'cuda[:N]'``.
        batch_size (int): Batch size of the measurements.
        threads (int, optional): Fixed CPU thread count (CPU only).
        dtype (str): Measurement dtype.
        channels_last (bool): Channels-last memory format.
        folder (str): Folder of the file.
        backend (str): Timing backend (``'onnxruntime-cpu'`` adds
            ``_ort``).
    """
    name = f'{space}_{device_tag(device)}_b{int(batch_size)}'
    if threads and device == 'cpu':
        name += f'_t{int(threads)}'
    if dtype != 'float32':
        name += f'_{dtype}'
    if channels_last:
        name += '_cl'
    if backend != 'torch':
        name += '_ort'
    return osp.join(folder, name + '.json')
