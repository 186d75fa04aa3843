"""The top-k architectures of a search by supernet validation score."""
from dataclasses import asdict, dataclass
from typing import Dict, Iterable, List, Optional

RULES = ('greater', 'less')


@dataclass(frozen=True)
class Candidate:
    """One validated search epoch.

    Attributes:
        epoch (int): The epoch (from 1) whose architecture was validated.
        score (float): Its supernet validation score.
    """
    epoch: int
    score: float


class TopK:
    """The ``k`` best epochs by score, best first.

    As the reference's ``record_topk``, a new epoch that ties with a kept
    one ranks before it (the later epoch wins a tie).

    Args:
        k (int): How many to keep (>= 1).
        rule (str): ``'greater'`` (accuracy) or ``'less'`` (a loss).
    """

    def __init__(self, k: int, rule: str = 'greater') -> None:
        if not isinstance(k, int) or k < 1:
            raise ValueError(f'topk must be an int >= 1, got {k!r}')
        if rule not in RULES:
            raise ValueError(f'rule must be one of {RULES}, got {rule!r}')
        self.k = k
        self.rule = rule
        self._kept: List[Candidate] = []

    @property
    def kept(self) -> List[Candidate]:
        """The kept candidates, best first."""
        return list(self._kept)

    def best(self) -> Optional[Candidate]:
        """The best candidate, or None before the first."""
        return self._kept[0] if self._kept else None

    def _key(self, c: Candidate):
        sign = -1.0 if self.rule == 'greater' else 1.0
        return (sign * c.score, -c.epoch)

    def add(self, epoch: int, score: float) -> bool:
        """Offer an epoch's score; True if the kept list changed.

        A score for an epoch already kept replaces it (a repeated
        validation of the same state).
        """
        before = self.kept
        others = [c for c in self._kept if c.epoch != int(epoch)]
        cands = others + [Candidate(int(epoch), float(score))]
        self._kept = sorted(cands, key=self._key)[:self.k]
        return self._kept != before

    def merge(self, candidates: Iterable[Candidate]) -> None:
        """Add several candidates (e.g. restored on resume)."""
        for c in candidates:
            self.add(c.epoch, c.score)

    def until(self, epoch: int) -> None:
        """Forget candidates of epochs after ``epoch`` (a resume from an
        earlier checkpoint replays them)."""
        self._kept = [c for c in self._kept if c.epoch <= epoch]

    # ------------------------------------------------------------- state
    def state(self) -> Dict:
        """A JSON-able state."""
        return dict(
            k=self.k, rule=self.rule, kept=[asdict(c) for c in self._kept])

    @staticmethod
    def candidates(state: Optional[Dict]) -> List[Candidate]:
        """The candidates of a :meth:`state` (empty for None)."""
        if not state:
            return []
        return [
            Candidate(int(c['epoch']), float(c['score']))
            for c in state.get('kept', [])
        ]
