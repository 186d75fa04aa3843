"""Derived-architecture structures."""
from .derived_arch import ARCH_KEY, ArchError, DerivedArch, DerivedBlock
from .published import DENSENAS_C, PUBLISHED_NET_CONFIGS

__all__ = [
    'ARCH_KEY', 'ArchError', 'DerivedArch', 'DerivedBlock', 'DENSENAS_C',
    'PUBLISHED_NET_CONFIGS'
]
