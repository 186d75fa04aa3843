"""Supernet -> standalone subnet checkpoint conversion."""
from .arch_fit import (SUPERNET_PREFIX, ConversionError,
                       check_arch_coordinates, check_arch_fits, check_fit,
                       check_supernet_fits, supernet_state)
from .from_algorithm import subnet_from_algorithm
from .supernet_to_subnet import (ConversionReport, build_subnet_template,
                                 convert_and_report, convert_checkpoint,
                                 convert_state_dict, subnet_classifier)

__all__ = [
    'SUPERNET_PREFIX', 'ConversionError', 'check_arch_coordinates',
    'check_arch_fits', 'check_fit', 'check_supernet_fits', 'supernet_state',
    'ConversionReport', 'build_subnet_template', 'convert_and_report',
    'convert_checkpoint', 'convert_state_dict', 'subnet_classifier',
    'subnet_from_algorithm'
]
