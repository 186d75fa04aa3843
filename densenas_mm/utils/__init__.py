"""densenas_mm.utils: the lowest layer (atomic I/O, checkpoints, timing,
seeds).

Nothing here imports another layer of the package, except
:mod:`.setup_env`, the one module that imports them all (it is not imported
by this ``__init__``).
"""
from .checkpoint import (CheckpointError, load_state_dict, read_checkpoint,
                         save_checkpoint_atomic, use_safe_checkpoint_loader)
from .io import (OutputPathError, atomic_path, dump_json_atomic,
                 dump_yaml_atomic, prepare_output_dir, prepare_output_file,
                 write_text_atomic)
from .resume import resolve_resume
from .seeding import derive_seed, preserved_rngs, seeded_rngs
from .state_fit import check_state_fits
from .timing import time_samples
from .timing_stats import TimingStats, relative_sem, summarize

__all__ = [
    'CheckpointError', 'check_state_fits', 'load_state_dict',
    'read_checkpoint', 'resolve_resume', 'save_checkpoint_atomic',
    'use_safe_checkpoint_loader', 'OutputPathError', 'atomic_path',
    'dump_json_atomic', 'dump_yaml_atomic', 'prepare_output_dir',
    'prepare_output_file', 'write_text_atomic', 'TimingStats',
    'relative_sem', 'summarize', 'time_samples', 'derive_seed',
    'preserved_rngs', 'seeded_rngs'
]
