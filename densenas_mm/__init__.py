"""densenas_mm: DenseNAS as an OpenMMLab / mmrazor extension.

Importing the package applies :mod:`densenas_mm.compat` (needed before
anything imports ``mmrazor.models`` on current torch) and nothing else: the
registries of :mod:`densenas_mm.registry` import their components on first
use, so ``custom_imports=dict(imports=['densenas_mm'])`` in a config is all a
user needs. :func:`densenas_mm.utils.setup_env.register_all_modules`
registers everything eagerly.
"""
from . import compat
from .version import __version__

compat.apply()

__all__ = ['__version__']
