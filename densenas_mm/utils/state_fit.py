"""Strict loading: does a state dict fit a model?

:func:`check_state_fits` compares the keys and shapes of a state dict with
the model's and lists the missing, unexpected and shape-mismatched keys
(:class:`StateMismatch`); when a search (supernet) checkpoint meets a
derived net's config, or the other way round, the error says how to
convert or which config to use (:func:`supernet_subnet_hint`).
"""
from dataclasses import dataclass, field
from typing import Any, Iterable, List, Mapping, Tuple

from torch import Tensor

from .checkpoint import CheckpointError


@dataclass
class StateMismatch:
    """How a state dict differs from what a model expects.

    Attributes:
        missing (list[str]): Expected keys the state lacks.
        unexpected (list[str]): State keys the model does not have.
        shapes (list[tuple]): ``(key, state shape, model shape)``.
    """
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    shapes: List[Tuple[str, tuple, tuple]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.shapes)

    def describe(self, show: int = 8) -> str:
        """One line per kind of difference, ``show`` keys each."""

        def some(items: List[Any]) -> str:
            more = f', ... ({len(items) - show} more)' if len(
                items) > show else ''
            return ', '.join(str(i) for i in items[:show]) + more

        lines = []
        if self.missing:
            lines.append(f'{len(self.missing)} missing key(s): '
                         f'{some(self.missing)}')
        if self.unexpected:
            lines.append(f'{len(self.unexpected)} unexpected key(s): '
                         f'{some(self.unexpected)}')
        if self.shapes:
            lines.append(f'{len(self.shapes)} shape mismatch(es): ' + some([
                f'{k} {tuple(a)} in the checkpoint vs {tuple(b)} in the '
                'model' for k, a, b in self.shapes
            ]))
        return '; '.join(lines)


def state_mismatch(expected: Mapping[str, Tensor],
                   state: Mapping[str, Tensor]) -> StateMismatch:
    """Compare keys and shapes of ``state`` with ``expected``."""
    return StateMismatch(
        missing=[k for k in expected if k not in state],
        unexpected=[k for k in state if k not in expected],
        shapes=[(k, tuple(v.shape), tuple(expected[k].shape))
                for k, v in state.items()
                if k in expected and tuple(v.shape) != tuple(expected[k].shape)
                ])


def check_state_fits(expected: Mapping[str, Tensor],
                     state: Mapping[str, Tensor], path: str,
                     what: str = 'the model of this config') -> None:
    """Raise unless ``state`` has exactly the keys and shapes of ``expected``.

    Raises:
        CheckpointError: Listing missing, unexpected and mismatched keys.
    """
    if not state:
        raise CheckpointError(f'checkpoint {path!r} holds no model tensors; '
                              f'{what} needs {len(expected)}')
    diff = state_mismatch(expected, state)
    if diff:
        raise CheckpointError(
            f'checkpoint {path!r} does not fit {what}: {diff.describe()}. It '
            'was written for another config, search space or architecture'
            + supernet_subnet_hint(expected, state, path))


#: Key prefixes of a search (supernet) model: mmrazor's algorithm wraps the
#: classifier as ``architecture`` and holds alpha/beta in ``mutator``.
_SEARCH_PREFIXES = ('architecture.', 'mutator.')


def _is_search_state(keys: Iterable[str]) -> bool:
    keys = list(keys)
    return bool(keys) and all(k.startswith(_SEARCH_PREFIXES) for k in keys)


def supernet_subnet_hint(expected: Mapping[str, Any],
                         state: Mapping[str, Any], path: str) -> str:
    """What to do when a search checkpoint meets a derived net's config or
    the other way round ('' when neither is the case)."""
    if _is_search_state(state) and not _is_search_state(expected):
        return (f'. {path!r} is a DenseNAS search (supernet) checkpoint and '
                'this config builds a derived net: convert it first, '
                f'python tools/model_converters/supernet_to_subnet.py {path} '
                'WORK_DIR/arch/best.yaml subnet.pth --config SUBNET_CONFIG, '
                'and evaluate subnet.pth (or retrain the net with '
                '--cfg-options model.backbone.arch=WORK_DIR/arch/best.yaml)')
    if _is_search_state(expected) and not _is_search_state(state):
        return (f'. {path!r} holds a plain classifier (e.g. a retrained '
                'derived net) and this config builds a DenseNAS search '
                '(supernet): evaluate it with its own config (a subnet '
                'config, configs/densenas/subnets/, with '
                'model.backbone.arch=ARCH.yaml)')
    return ''


__all__ = [
    'StateMismatch', 'check_state_fits', 'state_mismatch',
    'supernet_subnet_hint'
]
