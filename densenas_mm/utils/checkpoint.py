"""Read checkpoints safely and strictly; write them atomically.

Reading a checkpoint runs no code: :func:`read_checkpoint` loads with
``torch.load(weights_only=True)`` and an allow-list of exactly the types an
mmengine checkpoint holds besides tensors (:func:`safe_globals`): numpy
arrays, scalars and dtypes (message-hub scalars, the ETA), mmengine's
``HistoryBuffer`` and the statistics methods it pickles by reference.
``ConfigDict`` values come back as plain dicts. A file with anything else is
refused with the name of the offending global. mmengine's own loader of
local files is replaced by this one (:func:`use_safe_checkpoint_loader`), so
``Runner.resume``, ``load_from``, ``Pretrained`` init and
``load_checkpoint`` are covered too. The ``meta['config']`` entry, which
``Runner.resume`` would execute as a Python config, is dropped.

A truncated file is reported with the newest intact checkpoint beside it
(:func:`intact_checkpoints`). Strict loading, whether a state dict fits a
model: :mod:`.state_fit`.
"""
import os
import pickle
import pickletools
import re
import zipfile
from typing import Any, Callable, Dict, List, Optional

import torch
from torch import Tensor

from .io import atomic_path

#: Checkpoint file names the runner writes (epoch / iteration based).
CKPT_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')
_NUMPY_CODES = '?bhilqpBHILQPefdgFDGUS'
# what the weights-only unpickler (and the restricted getattr) say about an
# object outside the allow-list, as opposed to a damaged file
_UNSAFE = re.compile(r'GLOBAL [\w.]+|refused getattr\([^)]*\)|'
                     r'Can only (build|create new object)[^\n]*|'
                     r'Trying to call reduce for unrecognized function [^\n]*')


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, unsafe or does not fit."""


# --------------------------------------------------------------- allow-list
def _history_buffer_attribute(owner: Any, name: str) -> Callable:
    """The one ``getattr`` a checkpoint may call.

    mmengine's ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``; this stand-in for ``builtins.getattr``
    resolves only public functions defined on ``HistoryBuffer`` itself.
    """
    from mmengine.logging import HistoryBuffer
    value = (vars(HistoryBuffer).get(name) if owner is HistoryBuffer
             and isinstance(name, str) and not name.startswith('_') else None)
    if not callable(value) or isinstance(value, type):
        raise pickle.UnpicklingError(
            f'refused getattr({owner!r}, {name!r}): a checkpoint may only '
            'reference the statistics methods of mmengine.HistoryBuffer')
    return value


def safe_globals() -> List[Any]:
    """The allow-list for ``torch.load(weights_only=True)``.

    Returns:
        list: Objects and ``(object, 'module.name')`` pairs for
        ``torch.serialization.safe_globals``.
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer
    allowed: List[Any] = [HistoryBuffer, np.ndarray, np.dtype]
    allowed += sorted({type(np.dtype(c))
                       for c in _NUMPY_CODES}, key=lambda t: t.__name__)
    core = getattr(np, '_core', None) or np.core
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        multiarray = core.multiarray
        allowed.append((multiarray._reconstruct, f'{module}._reconstruct'))
        allowed.append((multiarray.scalar, f'{module}.scalar'))
    allowed.append((_history_buffer_attribute, 'builtins.getattr'))
    allowed.append((dict, 'mmengine.config.config.ConfigDict'))
    return allowed


def _torch_load_safely(path: str, map_location: Any) -> Any:
    serialization = torch.serialization
    if not hasattr(serialization, 'safe_globals'):
        raise CheckpointError(
            f'cannot read {path!r} safely: torch {torch.__version__} has no '
            'torch.serialization.safe_globals (torch >= 2.5 is needed to '
            'load mmengine checkpoints with weights_only=True)')
    with serialization.safe_globals(safe_globals()):
        return torch.load(path, map_location=map_location, weights_only=True)


# ------------------------------------------------------------------ reading
def intact_checkpoints(folder: str, exclude: Optional[str] = None
                       ) -> List[str]:
    """``epoch_N.pth`` / ``iter_N.pth`` files in ``folder`` whose zip
    archive is complete (CRC checked), newest first."""
    if not os.path.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        match = CKPT_NAME.match(name)
        path = os.path.join(folder, name)
        if not match or (exclude and os.path.abspath(path)
                         == os.path.abspath(exclude)):
            continue
        if is_intact(path):
            found.append((int(match.group(2)), path))
    return [p for _, p in sorted(found, reverse=True)]


def is_intact(path: str) -> bool:
    """Whether ``path`` is a complete torch zip archive (CRCs checked)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def previous_hint(path: str) -> str:
    """`` Resume from X instead`` naming the newest intact checkpoint beside
    ``path`` (empty when there is none)."""
    intact = intact_checkpoints(os.path.dirname(os.path.abspath(path)), path)
    if not intact:
        return ' No intact epoch_N.pth / iter_N.pth is beside it.'
    return (f' The newest intact checkpoint beside it is {intact[0]}; use '
            f'that one (e.g. --resume {intact[0]}).')


def read_checkpoint(path: str, map_location: Any = 'cpu') -> Any:
    """Load a checkpoint file without running any code from it.

    Args:
        path (str): Local checkpoint file.
        map_location: As for ``torch.load``.

    Returns:
        The checkpoint (an mmengine checkpoint is a dict with ``meta``,
        ``state_dict``, ``message_hub``, ...).

    Raises:
        CheckpointError: If the file is missing, empty, truncated, corrupt or
            holds objects outside the allow-list.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f'checkpoint {path!r} does not exist' +
                              ('' if not os.path.exists(path) else
                               ' as a file (it is a directory)'))
    if os.path.getsize(path) == 0:
        raise CheckpointError(
            f'checkpoint {path!r} is empty (0 bytes): the run that wrote it '
            'was interrupted.' + previous_hint(path))
    try:
        ckpt = _torch_load_safely(path, map_location)
    except pickle.UnpicklingError as err:
        text = str(err)
        found = re.search(_UNSAFE, text)
        if found:
            what = found.group(0).rstrip('. ')
            raise CheckpointError(
                f'refusing to load checkpoint {path!r}: it holds a Python '
                f'object outside the allow-list of mmengine checkpoint types '
                f'({what}); unpickling it could run code. Only tensors, '
                'numbers, strings, containers, numpy arrays and mmengine '
                'HistoryBuffers are read.') from None
        raise CheckpointError(
            _bare_pickle(path) or _corrupt(path, err)) from None
    except Exception as err:  # noqa: B902
        # garbage makes torch's unpickler fail in many ways (RuntimeError,
        # EOFError, BadZipFile, IndexError on a stray MARK opcode, ...)
        raise CheckpointError(_corrupt(path, err)) from None
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    if isinstance(meta, dict) and 'config' in meta:
        # Runner.resume would run this string as a Python config file.
        meta.pop('config')
    return ckpt


_MEMO_STORES = ('MEMOIZE', 'PUT', 'BINPUT', 'LONG_BINPUT')
_MEMO_READS = ('GET', 'BINGET', 'LONG_BINGET')


def pickle_imports(path: str, limit: int = 1 << 20) -> Optional[List[str]]:
    """The ``module.name`` globals a bare pickle stream would import, read
    with ``pickletools`` (nothing is executed).

    Args:
        path (str): The file.
        limit (int): Opcodes read at most.

    Returns:
        list[str] | None: The globals in order of appearance (empty for a
        pickle of plain data); None when the file is a zip archive (a torch
        checkpoint) or not a complete pickle stream.
    """
    if zipfile.is_zipfile(path):
        return None
    found: List[str] = []
    strings: List[str] = []  # strings pushed, memo reads included
    memo: Dict[Any, Any] = {}
    last: Any = None  # what the previous opcode left on top of the stack
    try:
        with open(path, 'rb') as f:
            for count, (op, arg, _) in enumerate(pickletools.genops(f)):
                if count >= limit:
                    break
                name, pushed = op.name, None
                if name == 'GLOBAL':
                    found.append(str(arg).replace(' ', '.'))
                elif name == 'STACK_GLOBAL' and len(strings) >= 2:
                    found.append('.'.join(strings[-2:]))
                elif name in _MEMO_STORES:
                    # the top of the stack (``last``) stays
                    memo[len(memo) if name == 'MEMOIZE' else arg] = last
                    continue
                elif name in _MEMO_READS:
                    pushed = memo.get(arg)
                elif isinstance(arg, str) and ('UNICODE' in name
                                               or 'STRING' in name):
                    pushed = arg
                if isinstance(pushed, str):
                    strings.append(pushed)
                last = pushed
    except (ValueError, EOFError, pickle.UnpicklingError, OSError):
        return None
    return list(dict.fromkeys(found))


def _bare_pickle(path: str) -> Optional[str]:
    """The refusal of a file that is a bare pickle, not a torch checkpoint
    (None for anything else)."""
    imports = pickle_imports(path)
    if imports is None:
        return None
    if imports:
        return (f'refusing to load {path!r}: it is not a checkpoint but a '
                f'bare pickle that would import and call '
                f'{", ".join(imports[:5])} when read; unpickling it could run '
                'code, so it is not read. Checkpoints are zip archives '
                'written by torch.save / mmengine')
    return (f'refusing to load {path!r}: it is a bare pickle stream, not a '
            'checkpoint (torch.save / mmengine write a zip archive); save '
            'the weights with torch.save')


def _corrupt(path: str, err: BaseException) -> str:
    return (f'cannot read checkpoint {path!r}: it is truncated or corrupt '
            f'({type(err).__name__}: {str(err).splitlines()[0][:200]}).' +
            previous_hint(path))


def load_state_dict(path: str) -> Dict[str, Tensor]:
    """Load the ``state_dict`` of an mmengine checkpoint (or a bare one).

    Args:
        path (str): Checkpoint file.

    Returns:
        dict[str, Tensor]: The tensors by key (a leading ``module.`` from a
        DDP-wrapped save is removed).

    Raises:
        CheckpointError: If the file is missing, empty, truncated, corrupt,
            unsafe or holds no tensors.
    """
    ckpt = read_checkpoint(path)
    state = state_of(ckpt, path)
    if not state:
        raise CheckpointError(
            f'checkpoint {path!r} holds no model tensors (empty state_dict)')
    return state


def state_of(ckpt: Any, path: str) -> Dict[str, Tensor]:
    """The ``state_dict`` of a loaded checkpoint, ``module.`` removed.

    Raises:
        CheckpointError: If there is none or it holds non-tensors.
    """
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(
            f'checkpoint {path!r} holds no state_dict (got '
            f'{type(ckpt).__name__}); expected an mmengine checkpoint '
            "{'state_dict': ..., 'meta': ...} or a bare state_dict")
    if state is ckpt and not any(isinstance(v, Tensor) for v in ckpt.values()):
        raise CheckpointError(
            f'checkpoint {path!r} holds no model tensors: it has no '
            f'state_dict (top-level keys: {sorted(map(str, ckpt))[:10]})')
    bad = [k for k, v in state.items() if not isinstance(v, Tensor)]
    if bad:
        raise CheckpointError(f'checkpoint {path!r}: state_dict entries '
                              f'{bad[:3]} are not tensors; the file is not a '
                              'model checkpoint')
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return dict(state)


def check_finite_weights(ckpt: Any, path: str, show: int = 5) -> None:
    """Refuse a checkpoint whose floating-point tensors hold NaN or inf
    (evaluating it would score 0 with exit status 0).

    Args:
        ckpt: A loaded checkpoint (mmengine dict or bare state_dict);
            anything else is left to the strict loader.
        path (str): Its file (for the message).
        show (int): Parameters named at most.

    Raises:
        CheckpointError: Naming the parameters with NaN / inf values and
            how many there are.
    """
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        return
    bad = []
    for key, value in state.items():
        if isinstance(value, Tensor) and value.is_floating_point():
            count = int((~torch.isfinite(value)).sum())
            if count:
                bad.append(f'{key} ({count} of {value.numel()})')
    if bad:
        more = f' and {len(bad) - show} more' if len(bad) > show else ''
        raise CheckpointError(
            f'checkpoint {path!r} holds NaN / inf weights in {len(bad)} '
            f'tensor(s): {", ".join(bad[:show])}{more}; the run that wrote '
            'it diverged. Evaluate an earlier checkpoint of that run, or '
            'retrain (lower lr, check the data)')


# ----------------------------------------------------------- mmengine hook-in
def _mmengine_local_loader(filename: str, map_location: Any = None) -> Any:
    """mmengine's ``load_from_local``, reading with :func:`read_checkpoint`."""
    return read_checkpoint(os.path.expanduser(filename), map_location)


def use_safe_checkpoint_loader() -> None:
    """Make mmengine read local checkpoints with :func:`read_checkpoint`.

    Registers the loader for local paths in mmengine's ``CheckpointLoader``
    (used by ``Runner.load_checkpoint`` / ``resume``, ``load_checkpoint``
    and ``PretrainedInit``). Idempotent; called by the densenas_mm
    checkpoint hook, the tools and :mod:`densenas_mm.apis.model_io`.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    if CheckpointLoader._schemes.get('') is _mmengine_local_loader:
        return
    CheckpointLoader.register_scheme(
        prefixes='', loader=_mmengine_local_loader, force=True)


# ------------------------------------------------------------------ writing
def save_checkpoint_atomic(checkpoint: Dict[str, Any], path: str) -> None:
    """``torch.save`` to a temp file beside ``path``, fsync, then rename.

    Readers (and a crash half-way) never see a partial checkpoint.

    Args:
        checkpoint (dict): What to save.
        path (str): Destination file.
    """
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)
