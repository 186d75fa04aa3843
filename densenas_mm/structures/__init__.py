"""Derived-architecture structures and the (pure) derivation."""
from .arch_space import (check_arch_in_recorded_space, check_arch_in_space,
                         space_identity_problem)
from .derivation import (alias_entropies, argmax_choice, check_params,
                         derive_arch, entropy, extreme_choices, kind_means,
                         max_entropies, mean_entropies, params_from_state_dict,
                         route_probabilities,
                         viterbi_path)
from .derived_arch import ARCH_KEY, DerivedArch, DerivedBlock
from .errors import ArchError
from .fix_subnet import (dump_fix_subnet, fix_subnet_to_dict,
                         load_fix_subnet_dict)
from .published import DENSENAS_C, PUBLISHED_NET_CONFIGS

__all__ = [
    'ARCH_KEY', 'ArchError', 'alias_entropies', 'kind_means', 'DerivedArch', 'DerivedBlock', 'DENSENAS_C',
    'PUBLISHED_NET_CONFIGS', 'argmax_choice', 'check_params', 'derive_arch',
    'entropy', 'extreme_choices', 'params_from_state_dict', 'max_entropies', 'mean_entropies',
    'route_probabilities', 'viterbi_path', 'check_arch_in_space',
    'check_arch_in_recorded_space', 'space_identity_problem',
    'dump_fix_subnet', 'fix_subnet_to_dict', 'load_fix_subnet_dict'
]
