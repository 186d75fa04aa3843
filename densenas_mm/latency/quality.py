"""How far a latency table can be trusted: its noise verdict.

A build marks every measured entry ``noisy`` when its rounds still
disagree after re-measurement, and the table ``noisy`` when more than
``max_noisy`` of its entries are (:func:`assess_entries`, stored as
``metadata['quality']``). :func:`table_quality` reads the verdict back, or
says why a table has none (a version 1 table, an imported one, a partial
build). The estimator refuses a noisy table unless told otherwise.
"""
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from .schema import SCHEMA_VERSION, V1_LACKS

OK, NOISY, UNCHECKED = 'ok', 'noisy', 'unchecked'
REBUILD_HINT = (
    'rerun the same tools/build_latency_lut.py command (it re-measures only '
    'the noisy entries, adding rounds), build with more --rounds / '
    '--extra-rounds, or build on a quieter machine')
OVERRIDE_HINT = (
    'to search with it anyway, pass allow_noisy_lut=True to the estimator '
    '(--cfg-options model.estimator.allow_noisy_lut=True)')


@dataclass(frozen=True)
class TableQuality:
    """The noise verdict of a table.

    Attributes:
        status (str): ``'ok'``, ``'noisy'`` or ``'unchecked'``.
        reason (str): Why, in words (numbers included).
        noisy (tuple[str]): Keys of the entries marked noisy.
    """
    status: str
    reason: str
    noisy: Tuple[str, ...] = ()


def _fmt_rounds(entry: Mapping[str, Any]) -> str:
    return (f'round medians {"/".join(f"{v:.3g}" for v in entry["rounds"])}'
            f', minima {"/".join(f"{v:.3g}" for v in entry["round_minima"])}')


def agreement_rule(statistic: str, tolerance: float) -> str:
    """In words: when the rounds of an entry disagree under ``statistic``
    (see :attr:`~densenas_mm.utils.rounds.RoundStats.rel_err`)."""
    if statistic.startswith('min_'):
        return (f'the two lowest rounds more than {100 * tolerance:g} % '
                'apart')
    return (f'robust relative standard error of the rounds above '
            f'{100 * tolerance:g} %')


def assess_entries(entries: Mapping[str, Mapping[str, Any]], tolerance: float,
                   max_noisy: float, statistic: str) -> Dict[str, Any]:
    """The table verdict from its entries' ``noisy`` flags.

    Args:
        entries (Mapping): Key -> entry (measured entries carry ``noisy``
            and ``rel_err``).
        tolerance (float): The agreement tolerance the flags were set with.
        max_noisy (float): Largest fraction of noisy entries of a table
            that is not marked noisy.
        statistic (str): The table's round statistic.

    Returns:
        dict: ``status``, ``reason``, ``noisy`` (keys), ``entries``,
        ``tolerance``, ``max_noisy``, for ``metadata['quality']``.
    """
    noisy = sorted(k for k, e in entries.items() if e.get('noisy'))
    total = len(entries)
    frac = len(noisy) / total if total else 0.0
    status = NOISY if frac > max_noisy else OK
    reason = (f'{len(noisy)} of {total} entries ({100 * frac:.0f} %) kept '
              f'rounds that disagree after re-measurement '
              f'({agreement_rule(statistic, tolerance)}); at most '
              f'{100 * max_noisy:.0f} % are allowed')
    if noisy:
        worst = max(noisy, key=lambda k: entries[k].get('rel_err') or 0.0)
        e = entries[worst]
        err = e.get('rel_err')
        err_txt = 'n/a (one round)' if err is None else f'{100 * err:.1f} %'
        reason += (f'; worst {worst}: {_fmt_rounds(e)} ms, uncertainty '
                   f'{err_txt}')
    return dict(
        status=status,
        reason=reason,
        noisy=noisy,
        entries=total,
        tolerance=tolerance,
        max_noisy=max_noisy)


def table_quality(metadata: Mapping[str, Any],
                  complete: bool,
                  version: int = SCHEMA_VERSION) -> TableQuality:
    """The verdict of a table (see the module docstring)."""
    if metadata.get('imported'):
        return TableQuality(
            UNCHECKED,
            f'it is imported ({metadata.get("source", "reference table")}, '
            f'device {metadata.get("device")!r}): one number per op measured '
            'elsewhere, with no rounds and no noise check here')
    if version == 1 or metadata.get('upgraded_from_version') == 1:
        return TableQuality(UNCHECKED, V1_LACKS)
    if not complete:
        return TableQuality(
            UNCHECKED, 'it is a partial (interrupted) build; its noise is '
            'judged when the build completes')
    quality: Optional[Mapping[str, Any]] = metadata.get('quality')
    if not isinstance(quality,
                      Mapping) or quality.get('status') not in (OK, NOISY):
        return TableQuality(
            UNCHECKED, 'it records no noise verdict (not built by '
            'tools/build_latency_lut.py)')
    return TableQuality(quality['status'], str(quality.get('reason', '')),
                        tuple(quality.get('noisy', ())))
