"""densenas_mm: DenseNAS as an OpenMMLab / mmrazor extension.

Importing the package applies :mod:`densenas_mm.compat` (needed before
anything imports ``mmrazor.models`` on current torch) and registers every
component, so ``custom_imports=dict(imports=['densenas_mm'])`` in a config is
all a user needs.
"""
from . import compat

compat.apply()

from .registry import register_all_modules  # noqa: E402
from .version import __version__  # noqa: E402

register_all_modules(init_default_scope=False)

__all__ = ['__version__', 'register_all_modules']
