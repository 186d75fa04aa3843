"""The settings of a latency-table build, in three small groups:
:class:`TableSetting` (what the table is for), :class:`RoundSettings` (how
entries are timed and judged) and :class:`BuildOptions` (how the build
runs); :data:`FLAT_KEYS` maps each field to its group for callers that pass
them as flat keywords (:mod:`.builder`).
"""
from dataclasses import dataclass
from typing import Any, Dict, Optional

from densenas_mm.utils.rounds import DEFAULT_STATISTIC, ROUND_STATISTICS
from densenas_mm.utils.settings import flat_keys
from densenas_mm.utils.timing import calls_per_sample_for, preemption_counter
from .schema import CALLS_KEY


@dataclass(frozen=True)
class TableSetting:
    """What a table is measured for.

    Attributes:
        device (str): ``'cpu'`` or ``'cuda[:N]'``.
        batch_size (int): Batch size of every measurement.
        dtype (str): ``float32``, ``float16``, ``bfloat16`` or ``float64``.
        channels_last (bool): Measure in channels-last memory format.
        backend (str): Timing backend, ``'torch'`` or ``'onnxruntime-cpu'``
            (each op exported to ONNX and run by ONNX Runtime's CPU
            execution provider, wall clock); recorded as
            ``metadata['backend']``.
    """
    device: str = 'cpu'
    batch_size: int = 32
    dtype: str = 'float32'
    channels_last: bool = False
    backend: str = 'torch'

    @property
    def memory_format(self) -> str:
        """``'channels_last'`` or ``'contiguous'``."""
        return 'channels_last' if self.channels_last else 'contiguous'


@dataclass(frozen=True)
class RoundSettings:
    """How every entry is timed and when its rounds agree.

    Attributes:
        rounds (int): Interleaved rounds per entry (>= 2 to judge
            agreement).
        warmup (int): Untimed calls per entry and round.
        min_repeats (int): Timed calls per entry and round at least.
        max_repeats (int): Timed calls per entry and round at most.
        max_seconds (float, optional): Cap on the timed calls of one entry in
            one round (seconds; the count still reaches ``min_repeats``).
        clock (str): ``'auto'`` (CUDA events on a CUDA device, thread CPU
            time on a CPU with one torch thread, else wall), ``'cuda'``,
            ``'thread'`` or ``'wall'``.
        calls_per_sample (int, optional): Back-to-back calls per timed
            sample (the sample is their time / k); default 10 on the
            ``'cuda'`` clock, 1 otherwise. Recorded as
            ``metadata['calls_per_sample']`` on the ``'cuda'`` clock or
            when set to more than 1.
        statistic (str): One of
            :data:`~densenas_mm.utils.rounds.ROUND_STATISTICS`.
        tolerance (float): Rounds agree when their relative uncertainty
            (:attr:`~densenas_mm.utils.rounds.RoundStats.rel_err`) is at
            most this.
        extra_rounds (int): Most rounds added to an entry that disagrees.
        max_noisy (float): Largest fraction of noisy entries of a table not
            marked noisy.
        keep_memory (bool): Keep freed memory in the process
            (:func:`~densenas_mm.utils.timing.keep_freed_memory`), so timed
            calls do not page-fault; recorded as ``metadata['allocator']``.
        drop_preempted (bool): Leave out timed calls the OS interrupted
            (see :func:`~densenas_mm.utils.timing.time_samples`); recorded
            as ``metadata['drop_preempted']`` (False where the OS does not
            report preemption, and on the ``'cuda'`` clock, which it does
            not concern).

    Raises:
        ValueError: For a bad statistic, rounds, extra rounds or tolerance.
    """
    rounds: int = 5
    warmup: int = 2
    min_repeats: int = 5
    max_repeats: int = 20
    max_seconds: Optional[float] = 0.05
    clock: str = 'auto'
    statistic: str = DEFAULT_STATISTIC
    tolerance: float = 0.05
    extra_rounds: int = 6
    max_noisy: float = 0.1
    keep_memory: bool = True
    drop_preempted: bool = True
    calls_per_sample: Optional[int] = None

    def __post_init__(self) -> None:
        if self.statistic not in ROUND_STATISTICS:
            raise ValueError(f'statistic must be one of {ROUND_STATISTICS}, '
                             f'got {self.statistic!r}')
        if self.calls_per_sample is not None and self.calls_per_sample < 1:
            raise ValueError('calls_per_sample must be >= 1 (or None for '
                             f'the clock\'s default), got '
                             f'{self.calls_per_sample}')
        if self.rounds < 1 or self.extra_rounds < 0 or self.tolerance <= 0:
            raise ValueError(
                'need rounds >= 1, extra_rounds >= 0 and tolerance > 0, got '
                f'{self.rounds}, {self.extra_rounds}, {self.tolerance}')

    def loop_kwargs(self, clock: str) -> Dict[str, Any]:
        """The arguments of each round's timing loop, with the resolved
        ``clock`` (and no dropping where the OS does not report
        preemption, or on the ``'cuda'`` clock); ``calls_per_sample`` only
        on the ``'cuda'`` clock or when more than 1, so CPU tables keep
        their metadata."""
        loop = dict(
            warmup=self.warmup,
            min_repeats=self.min_repeats,
            max_repeats=self.max_repeats,
            max_seconds=self.max_seconds,
            clock=clock,
            drop_preempted=bool(self.drop_preempted and clock != 'cuda'
                                and preemption_counter()))
        calls = calls_per_sample_for(clock, self.calls_per_sample)
        if clock == 'cuda' or calls > 1:
            loop[CALLS_KEY] = calls
        return loop


@dataclass(frozen=True)
class BuildOptions:
    """How a build runs.

    Attributes:
        checkpoint_every (int): Signatures per chunk of interleaved rounds;
            the partial table is written after every chunk.
        resume (bool): Reuse compatible entries of ``OUT`` / ``OUT.partial``.
        progress (bool): Show an mmengine progress bar.
    """
    checkpoint_every: int = 10
    resume: bool = True
    progress: bool = True


#: The build's settings groups.
SETTINGS = dict(setting=TableSetting, timing=RoundSettings,
                options=BuildOptions)
#: Flat keyword of :func:`build_latency_table` -> (group, field): every
#: field under its own name.
FLAT_KEYS = flat_keys(SETTINGS)

__all__ = ['BuildOptions', 'FLAT_KEYS', 'RoundSettings', 'SETTINGS',
           'TableSetting']
