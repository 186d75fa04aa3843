"""Interleaved rounds on top of the one timing loop, and their statistic.

:func:`time_rounds` measures several callables in interleaved rounds (round
1 of every callable, then round 2, ...) with
:func:`~densenas_mm.utils.timing.time_samples`, so that a burst of load
hits one round of many entries instead of every round of one.
:class:`RoundStats` keeps a robust statistic of an entry's rounds with its
own uncertainty, and :func:`measure_until_agreed` adds rounds to the entries
whose rounds disagree (see ``docs/latency.md``).
"""
import math
import statistics
from dataclasses import dataclass, field
from typing import (Any, Callable, Dict, Hashable, List, Mapping, Optional,
                    Sequence, Tuple, TypeVar)

from .timing import timed
from .timing_stats import TimingResult

# How the rounds of one entry become its value: the median (over rounds)
# of each round's median, the median of each round's minimum, the minimum
# of the round medians, or the smallest sample of all.
ROUND_STATISTICS = ('median_of_medians', 'median_of_minima', 'min_of_medians',
                    'min_of_minima')
# The statistic of tables and audits unless told otherwise: on the shared
# CPU of docs/latency.md it agreed best between builds and with whole nets.
DEFAULT_STATISTIC = 'min_of_minima'
# A median's standard error is sqrt(pi / 2) times the mean's; 1.4826 * MAD
# estimates the standard deviation of normal data.
_MEDIAN_SE = math.sqrt(math.pi / 2) * 1.4826
K = TypeVar('K', bound=Hashable)


def time_rounds(fns: Mapping[K, Callable[[], Any]], rounds: int,
                **timing: Any) -> Dict[K, List[TimingResult]]:
    """Time every callable of ``fns`` in ``rounds`` interleaved rounds.

    Round ``r`` runs :func:`~densenas_mm.utils.timing.timed` (with
    ``timing``, its warm-up included) on each callable in turn, in the
    order of ``fns``.

    Args:
        fns (Mapping): Key -> callable without arguments.
        rounds (int): Rounds (>= 1).
        **timing: Arguments of :func:`timed` (``unit``, ``warmup``, ...).

    Returns:
        dict: Key -> one :class:`TimingResult` per round.

    Raises:
        ValueError: For ``rounds < 1``.
    """
    if rounds < 1:
        raise ValueError(f'rounds must be >= 1, got {rounds}')
    out: Dict[K, List[TimingResult]] = {key: [] for key in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            out[key].append(timed(fn, **timing))
    return out


def robust_rel_err(values: Sequence[float]) -> Optional[float]:
    """Relative standard error of the median of ``values``, from the MAD.

    ``sqrt(pi / 2) * 1.4826 * MAD / sqrt(n) / median``: the median
    absolute deviation (not the standard deviation) measures the spread, so
    one disturbed value does not decide it. None for fewer than 2 values;
    0 for a median of 0.
    """
    if len(values) < 2:
        return None
    center = statistics.median(values)
    if center <= 0:
        return 0.0
    mad = statistics.median(abs(v - center) for v in values)
    return _MEDIAN_SE * mad / math.sqrt(len(values)) / center


@dataclass(frozen=True)
class RoundStats:
    """The rounds of one measured entry and their robust statistic.

    Attributes:
        medians (tuple[float]): Median of each round's samples.
        minima (tuple[float]): Minimum of each round's samples.
        count (int): Timed calls over all rounds.
        statistic (str): One of :data:`ROUND_STATISTICS`.
    """
    medians: Tuple[float, ...]
    minima: Tuple[float, ...]
    count: int
    statistic: str = DEFAULT_STATISTIC

    def __post_init__(self) -> None:
        if self.statistic not in ROUND_STATISTICS:
            raise ValueError(f'statistic must be one of {ROUND_STATISTICS},'
                             f' got {self.statistic!r}')
        if not self.medians or len(self.medians) != len(self.minima):
            raise ValueError('RoundStats needs as many minima as medians '
                             f'(>= 1), got {len(self.medians)} and '
                             f'{len(self.minima)}')

    @classmethod
    def from_results(cls,
                     rounds: Sequence[TimingResult],
                     statistic: str = DEFAULT_STATISTIC) -> 'RoundStats':
        """Statistics of rounds, one :class:`TimingResult` per round (in
        the unit of the results)."""
        stats = [r.stats for r in rounds]
        return cls(
            tuple(s.median for s in stats), tuple(s.min for s in stats),
            sum(s.n for s in stats), statistic)

    def extend(self, other: 'RoundStats') -> 'RoundStats':
        """These rounds followed by those of ``other``."""
        return RoundStats(self.medians + other.medians,
                          self.minima + other.minima, self.count + other.count,
                          self.statistic)

    @property
    def rounds(self) -> int:
        """Number of rounds."""
        return len(self.medians)

    @property
    def per_round(self) -> Tuple[float, ...]:
        """The per-round values the statistic summarises."""
        return (self.minima
                if self.statistic.endswith('_minima') else self.medians)

    @property
    def value(self) -> float:
        """The entry's value under :attr:`statistic`."""
        if self.statistic.startswith('min_'):
            return min(self.per_round)
        return statistics.median(self.per_round)

    @property
    def rel_err(self) -> Optional[float]:
        """Relative uncertainty of :attr:`value` from the rounds (None for
        one round).

        For a median over rounds: its robust standard error
        (:func:`robust_rel_err` of :attr:`per_round`). For a minimum: the
        gap from the smallest round value to the next smallest, relative
        to the smallest, i.e. how closely a second round confirms the floor
        (a shared CPU alternates between quiet and busy stretches, so the
        rounds' spread says little about a minimum).
        """
        if self.rounds < 2:
            return None
        if self.statistic.startswith('min_'):
            low, second = sorted(self.per_round)[:2]
            return (second - low) / low if low > 0 else 0.0
        return robust_rel_err(self.per_round)

    def agrees(self, tolerance: float) -> bool:
        """Whether the rounds agree: ``rel_err <= tolerance`` (never for a
        single round, which cannot show agreement)."""
        err = self.rel_err
        return err is not None and err <= tolerance


@dataclass
class AgreedRounds:
    """What :func:`measure_until_agreed` measured.

    Attributes:
        stats (dict): Key -> :class:`RoundStats`.
        extra_rounds (dict): Key -> rounds added because its rounds
            disagreed (only keys that got any).
    """
    stats: Dict[Any, RoundStats]
    extra_rounds: Dict[Any, int] = field(default_factory=dict)

    def disagreeing(self, tolerance: float) -> List[Any]:
        """Keys whose rounds still disagree, in order."""
        return [k for k, s in self.stats.items() if not s.agrees(tolerance)]


RunRounds = Callable[[Sequence[Any], int], Mapping[Any,
                                                   Sequence[TimingResult]]]


def measure_until_agreed(run: RunRounds,
                         keys: Sequence[K],
                         rounds: int,
                         tolerance: float,
                         extra_rounds: int = 0,
                         statistic: str = DEFAULT_STATISTIC,
                         prior: Optional[Mapping[K, RoundStats]] = None
                         ) -> AgreedRounds:
    """Measure ``keys`` in interleaved rounds, then re-measure disagreement.

    ``run(keys, n)`` times ``keys`` in ``n`` interleaved rounds and returns
    key -> one :class:`TimingResult` per round (e.g. :func:`time_rounds`
    over callables).
    After ``rounds`` rounds of every key, each key whose rounds disagree
    (:meth:`RoundStats.agrees` fails for ``tolerance``) gets one more round,
    interleaved with the other disagreeing keys, until it agrees or has had
    ``extra_rounds`` more.

    Args:
        run (callable): ``(keys, n) -> {key: [TimingResult of round 1,
            ...]}``.
        keys (Sequence): What to measure.
        rounds (int): Rounds of every key (>= 1).
        tolerance (float): Largest robust relative standard error of the
            rounds that counts as agreement.
        extra_rounds (int): Most rounds added per disagreeing key.
        statistic (str): One of :data:`ROUND_STATISTICS`.
        prior (Mapping, optional): Rounds measured before (e.g. by an
            earlier build); the new rounds extend them.

    Returns:
        AgreedRounds: The statistics per key and the extra rounds spent.
    """
    prior = prior or {}

    def measure(todo: Sequence[K], n: int) -> Dict[K, RoundStats]:
        got = run(list(todo), n)
        return {
            k: RoundStats.from_results(got[k], statistic)
            for k in todo
        }

    result = AgreedRounds({})
    for key, stats in measure(keys, rounds).items():
        result.stats[key] = (
            prior[key].extend(stats) if key in prior else stats)
    for _ in range(extra_rounds):
        todo = result.disagreeing(tolerance)
        if not todo:
            break
        for key, stats in measure(todo, 1).items():
            result.stats[key] = result.stats[key].extend(stats)
            result.extra_rounds[key] = result.extra_rounds.get(key, 0) + 1
    return result
