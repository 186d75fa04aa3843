"""Checkpoint converters: DenseNAS supernet -> standalone subnet."""
from .checkpoint_io import (ConversionError, load_state_dict,
                            save_checkpoint_atomic)
from .supernet_to_subnet import (ConversionReport, build_subnet_template,
                                 convert_checkpoint, convert_state_dict,
                                 subnet_to_supernet_key)

__all__ = [
    'ConversionError', 'ConversionReport', 'load_state_dict',
    'save_checkpoint_atomic', 'build_subnet_template', 'convert_checkpoint',
    'convert_state_dict', 'subnet_to_supernet_key'
]
