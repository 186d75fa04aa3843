"""Derived-architecture structures and the (pure) derivation."""
from .derivation import (argmax_choice, check_params, derive_arch, entropy,
                         extreme_choices, max_entropies, mean_entropies,
                         route_probabilities, viterbi_path)
from .derived_arch import ARCH_KEY, ArchError, DerivedArch, DerivedBlock
from .published import DENSENAS_C, PUBLISHED_NET_CONFIGS

__all__ = [
    'ARCH_KEY', 'ArchError', 'DerivedArch', 'DerivedBlock', 'DENSENAS_C',
    'PUBLISHED_NET_CONFIGS', 'argmax_choice', 'check_params', 'derive_arch',
    'entropy', 'extreme_choices', 'max_entropies', 'mean_entropies',
    'route_probabilities', 'viterbi_path'
]
