"""densenas_mm.utils: helpers shared by the command line tools."""
from .launch import (adapt_cfg_for_cpu_distributed, merge_common_args,
                     sanitize_dataloaders)

__all__ = [
    'adapt_cfg_for_cpu_distributed', 'merge_common_args',
    'sanitize_dataloaders'
]
