"""The settings of a :class:`~.chained_latency_estimator.ChainedLatencyEstimator`,
in two groups: :class:`TableTarget` (what its latency table must fit) and
:class:`ModuleCounting` (mmrazor's ``ResourceEstimator`` arguments);
:data:`FLAT_KEYS` maps the flat config keys onto them.
"""
from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple

from densenas_mm.utils.settings import flat_keys

METRICS = ('latency', 'flops', 'params')
ON_MISMATCH = ('warn', 'error')
UNIT_SCALE = {'G': 1e9, 'M': 1e6, 'K': 1e3, None: 1.0, '': 1.0}


@dataclass(frozen=True)
class TableTarget:
    """What the latency table of a :class:`ChainedLatencyEstimator` must
    fit.

    Attributes:
        device (str, optional): Device the costs are meant for; ``'auto'``
            = this machine's (CUDA if available); None = no check. A table
            from another device warns. Flat key ``target_device``.
        batch_size (int, optional): Batch size the costs are meant for.
            Unset, the run's batch size is the target (the search loop
            passes its architecture loader's to
            :meth:`ChainedLatencyEstimator.check_setting`).
        dtype (str, optional): Dtype the costs are meant for; unset, the
            run's (float32, or the AMP / autocast dtype).
        memory_format (str, optional): ``'contiguous'`` or
            ``'channels_last'`` the costs are meant for; unset, the run's
            (the algorithm's ``channels_last``).
        on_mismatch (str): What a table of another batch size, dtype or
            memory format than the target gets: ``'warn'`` (a
            :class:`LatencyTableWarning` and a log line naming both) or
            ``'error'`` (:class:`LatencyTableError`).
        allow_noisy (bool): Use a table its build marked noisy (see
            ``docs/latency.md``) instead of refusing it; it then warns with
            the reason. Flat key ``allow_noisy_lut``.

    Raises:
        ValueError: For another ``on_mismatch``.
    """
    device: Optional[str] = 'auto'
    batch_size: Optional[int] = None
    dtype: Optional[str] = None
    memory_format: Optional[str] = None
    on_mismatch: str = 'warn'
    allow_noisy: bool = False

    def __post_init__(self) -> None:
        if self.on_mismatch not in ON_MISMATCH:
            raise ValueError("on_mismatch must be 'warn' or 'error', got "
                             f'{self.on_mismatch!r}')


@dataclass(frozen=True)
class ModuleCounting:
    """mmrazor's ``ResourceEstimator`` arguments: how plain modules given
    to :meth:`ChainedLatencyEstimator.estimate` are counted and timed, and
    the units of the results.

    Attributes:
        input_shape (tuple): Input of plain modules.
        units (dict): Units of flops / params (``'M'``, ``'G'``, ...).
        as_strings (bool): Return strings with units.
        flops_params_cfg (dict, optional): Kept for mmrazor compatibility
            (its ``input_shape`` overrides the one above).
        latency_cfg (dict, optional): Timing of plain modules (``warmup``,
            ``min_repeats``, ``max_repeats``, ``rel_std``, ``device``).
    """
    input_shape: Tuple = (1, 3, 224, 224)
    units: Mapping[str, str] = field(
        default_factory=lambda: dict(flops='M', params='M', latency='ms'))
    as_strings: bool = False
    flops_params_cfg: Optional[dict] = None
    latency_cfg: Optional[dict] = None


#: The estimator's settings groups.
SETTINGS = dict(target=TableTarget, counting=ModuleCounting)
#: Flat keyword -> (group, field): each field under its own name, and the
#: two whose config keys are older than the groups.
FLAT_KEYS = flat_keys(
    SETTINGS,
    dict(
        target_device=('target', 'device'),
        allow_noisy_lut=('target', 'allow_noisy')))

__all__ = ['FLAT_KEYS', 'METRICS', 'ON_MISMATCH', 'SETTINGS', 'UNIT_SCALE',
           'ModuleCounting', 'TableTarget']
