"""Read checkpoints defensively; write them atomically."""
import os
import pickle
import zipfile
from typing import Any, Dict

import torch
from torch import Tensor

from .io import atomic_path


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or not a model checkpoint."""


def load_state_dict(path: str) -> Dict[str, Tensor]:
    """Load the ``state_dict`` of an mmengine checkpoint (or a bare one).

    Args:
        path (str): Checkpoint file.

    Returns:
        dict[str, Tensor]: The tensors by key (a leading ``module.`` from a
        DDP-wrapped save is removed).

    Raises:
        CheckpointError: If the file is missing, empty, truncated, corrupt or
            holds no tensors.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f'checkpoint {path!r} does not exist')
    if os.path.getsize(path) == 0:
        raise CheckpointError(f'checkpoint {path!r} is empty (0 bytes); the '
                              'run that wrote it was probably interrupted')
    try:
        # Search checkpoints hold mmengine objects (message hub, history
        # buffers), so weights_only loading would refuse them; this is the
        # same trust model as mmengine's own load_checkpoint.
        ckpt = torch.load(path, map_location='cpu', weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile,
            ValueError, OSError) as err:
        raise CheckpointError(
            f'cannot read checkpoint {path!r}: it is truncated or corrupt '
            f'({type(err).__name__}: {err}). Use a complete checkpoint, e.g. '
            'the latest epoch_N.pth of the search work_dir.') from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state:
        raise CheckpointError(
            f'checkpoint {path!r} holds no state_dict (got '
            f'{type(ckpt).__name__}); expected an mmengine checkpoint '
            "{'state_dict': ..., 'meta': ...} or a bare state_dict")
    bad = [k for k, v in state.items() if not isinstance(v, Tensor)]
    if bad:
        raise CheckpointError(f'checkpoint {path!r}: state_dict entries '
                              f'{bad[:3]} are not tensors; the file is not a '
                              'model checkpoint')
    if all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return dict(state)


def save_checkpoint_atomic(checkpoint: Dict[str, Any], path: str) -> None:
    """``torch.save`` to a temp file beside ``path``, fsync, then rename.

    Readers (and a crash half-way) never see a partial checkpoint.

    Args:
        checkpoint (dict): What to save.
        path (str): Destination file.
    """
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)
