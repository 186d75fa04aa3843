"""The machine a benchmark ran on, and number formatting for its tables."""
import math
import os
import platform
import subprocess
from typing import Any, Dict, Optional

import torch

from densenas_mm.latency.measure import cpu_name


def machine_info() -> Dict[str, Any]:
    """CPU model, cores, load, versions and the GPU if any."""
    info: Dict[str, Any] = dict(
        cpu=cpu_name(),
        cores=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        load=load(),
        python=platform.python_version(),
        torch=torch.__version__)
    for name in ('mmengine', 'mmcls', 'mmrazor', 'mmcv'):
        try:
            info[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001
            info[name] = None
    if torch.cuda.is_available():
        info['gpu'] = torch.cuda.get_device_name()
        info['cuda'] = torch.version.cuda
    return info


def load() -> Optional[str]:
    """``uptime``'s load averages."""
    try:
        return ' '.join(f'{x:.2f}' for x in os.getloadavg())
    except OSError:
        try:
            return subprocess.check_output(['uptime'], text=True).strip()
        except Exception:  # noqa: BLE001
            return None


def fmt(x: Optional[float], digits: int = 3) -> str:
    """Compact number formatting for tables (``-`` for None/NaN)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return '-'
    if abs(x) >= 100:
        return f'{x:.0f}'
    if abs(x) >= 10:
        return f'{x:.1f}'
    return f'{x:.{digits}g}'
