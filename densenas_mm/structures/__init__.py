"""Derived-architecture structures."""
from .derived_arch import (ARCH_KEY, ArchError, DerivedArch, DerivedBlock)

__all__ = ['ARCH_KEY', 'ArchError', 'DerivedArch', 'DerivedBlock']
