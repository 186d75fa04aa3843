"""Searched arms of the searched-vs-random protocol: the default one and
extra ones.

The default searched arm searches with the protocol's search config in
``<work_dir>/search_s<seed>/``. An **extra searched arm**
(``--extra-arm NAME=CONFIG[,KEY=VALUE...]``, the grammar of
:mod:`.named_specs`) searches with its own config once per search seed, with
the protocol's common search options and then its own ``KEY=VALUE``
options (so its own win), in ``<work_dir>/search_<NAME>_s<seed>/``, over
the protocol's search space (:func:`check_same_space`); its net
of seed ``k`` is ``<NAME>_s<k>`` (the same ``arch/<last|best>.yaml`` as the
default arm). Every searched net, default or extra, is matched to **its
own** latency window of the one shared pool (:func:`match_searched`, roles
``random_s<k>`` for the default arm and ``random_<NAME>_s<k>`` for an
extra one); a pool net in several windows is one net, retrained once,
counting in each (:class:`.protocol_nets.NetBook`). Everything else (pool,
retrain seeds, work dir) is shared, so adding an arm to a finished run runs
only the new arm's searches and the nets that are new.

Statistics of an extra arm (:func:`extra_arm_record`): the arm against its
random nets (:func:`.arm_stats.compare_arm`), the default searched arm
minus the extra arm (:func:`.arm_stats.compare_arms`) and the arm's search
CPU-hours.
"""
import os.path as osp
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from densenas_mm.utils.options import ConfigError
from . import arm_stats
from .latency_windows import latency_window
from .named_specs import parse_named_specs, spec_config, split_spec
from .protocol_nets import NetBook, ProtocolNet, pool_net
from .workers import cpu_seconds

#: Names an extra arm may not take (the protocol's own arms).
RESERVED = ('searched', 'random', 'rsws', 'hand')
#: A valid ``--extra-arm`` (issue 21 item 5's best option on setting A).
EXAMPLE = ('uniform_long_warmup=configs/densenas/lab/'
           'densenas_supernet-demo-uniform_1xb32-20e_fmnist.py,'
           'warmup_epochs=15')


@dataclass(frozen=True)
class ExtraArm:
    """One extra searched arm.

    Attributes:
        name (str): Its name (a plain identifier, not in :data:`RESERVED`).
        spec (str): ``CONFIG[,KEY=VALUE...]`` as given.
        config (str): The search config (an existing path).
        options (tuple[str]): Its own ``KEY=VALUE`` config options.
    """
    name: str
    spec: str
    config: str
    options: Tuple[str, ...]

    def folder(self, work_dir: str, seed: int) -> str:
        """The work dir of its search with ``seed``."""
        return osp.join(work_dir, f'search_{self.name}_s{seed}')

    def search_options(self, common: Sequence[str]) -> List[str]:
        """Its search's config options: the common ones, then its own."""
        return [*common, *self.options]


def parse_extra_arms(pairs: Optional[Sequence[str]]) -> List[ExtraArm]:
    """``NAME=CONFIG[,KEY=VALUE...]`` pairs as extra arms (module doc).

    Raises:
        ConfigError: A pair without ``=``, a name that is not a plain
            identifier, reserved or repeated, an item that is not
            ``KEY=VALUE``, a config that does not exist.
    """
    specs = parse_named_specs(pairs or (), '--extra-arm', EXAMPLE,
                              reserved=RESERVED, identifiers=True)
    return [ExtraArm(name, spec, spec_config(name, spec, '--extra-arm'),
                     tuple(split_spec(spec)[1]))
            for name, spec in specs.items()]


def check_same_space(arms: Sequence[ExtraArm], space: Any,
                     common: Sequence[str]) -> None:
    """Every extra arm searches ``space`` (the protocol's: its nets are
    matched to the pool's nets by the pool's latency estimator), with the
    common options and its own.

    Raises:
        ConfigError: An arm whose config (with its options) has another
            space or does not load.
    """
    from densenas_mm.apis.cli import parse_cfg_options
    from densenas_mm.apis.model_io import load_config
    from densenas_mm.apis.random_arch import build_search_mutator
    for arm in arms:
        try:
            own = build_search_mutator(load_config(
                arm.config, parse_cfg_options(arm.search_options(common))))
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(f'--extra-arm {arm.name!r}: {arm.spec!r} does '
                              f'not build a search: {err}') from None
        diff = own.space.differences(space)
        if diff:
            raise ConfigError(
                f'--extra-arm {arm.name!r}: {arm.config!r} searches another '
                f"space than the protocol's search config ({'; '.join(diff)})"
                ': an extra arm must search the same space (its nets are '
                "matched to the pool's)")


def match_searched(book: NetBook, pool: Dict[str, Any], arch_path: str,
                   arm: str, seed: int, latency_of: Callable[[Any], float],
                   n_random: int, tolerance: float,
                   max_tolerance: float) -> Dict[str, Any]:
    """A searched net into ``book`` with its own window of pool nets.

    Args:
        book (NetBook): The protocol's nets.
        pool (dict): The shared pool (``archs`` with ``latency``).
        arch_path (str): The search's net (YAML).
        arm (str): ``'searched'`` or an extra arm's name: the net is
            ``<arm>_s<seed>``, its random nets' role
            ``random_s<seed>`` (default arm) or ``random_<arm>_s<seed>``.
        seed (int): The search seed.
        latency_of (Callable): ``arch -> predicted latency`` (the pool's).
        n_random (int): Random nets asked.
        tolerance (float): The first window (relative).
        max_tolerance (float): The widest window.

    Returns:
        dict: ``net`` (:class:`ProtocolNet`), ``window``
        (:class:`.latency_windows.LatencyWindow`), ``random`` (its nets).

    Raises:
        ConfigError: Fewer than ``n_random`` pool nets in the widest window.
    """
    from densenas_mm.structures import DerivedArch
    net_arch = DerivedArch.load(arch_path)
    lat = latency_of(net_arch)
    name = f'{arm}_s{seed}'
    net = book.add(net_arch, name, lat, name)
    lats = [e['latency'] for e in pool['archs']]
    win = latency_window(lats, lat, n_random, tolerance, max_tolerance)
    if win.inside < n_random:
        which = 'searched net' if arm == 'searched' else f"{arm} arm's net"
        raise ConfigError(
            f'only {win.inside} pool nets lie within {max_tolerance:.1%} of '
            f'the {which} of seed {seed} ({lat:.3f} ms; pool '
            f'{min(lats):.3f}-{max(lats):.3f} ms, {len(lats)} nets), '
            f'{n_random} asked: draw a larger pool (--pool-draws), raise '
            '--max-tolerance or lower --random')
    role = 'random' if arm == 'searched' else f'random_{arm}'
    return dict(net=net, window=win, random=[
        pool_net(book, pool, i, f'{role}_s{seed}') for i in win.indices])


def arm_scores(
        nets: Sequence[Optional[ProtocolNet]]
) -> List[Optional[Dict[int, float]]]:
    """Per search seed, a net's retrain seed -> top-1 (None: no net or no
    finished run)."""
    return [n.scores if n is not None and n.seeds else None for n in nets]


def random_scores(
        slots: Sequence[Dict[str, Any]]) -> List[List[Dict[int, float]]]:
    """Per search seed, its random nets' scores (unfinished left out)."""
    return [[n.scores for n in slot.get('random', []) if n.seeds]
            for slot in slots]


def extra_arm_record(arm: ExtraArm, slots: Sequence[Dict[str, Any]],
                     searched: Sequence[Optional[Dict[int, float]]],
                     work_dir: str, reps: int) -> Dict[str, Any]:
    """What ``results.json`` keeps of an extra arm (module doc).

    Args:
        arm (ExtraArm): The arm.
        slots (Sequence[dict]): Per search seed: ``search_seed`` and, where
            its search finished, :func:`match_searched`'s entries.
        searched (Sequence[dict | None]): The default searched arm's
            scores per search seed (:func:`arm_scores`).
        work_dir (str): The protocol's work dir.
        reps (int): Bootstrap replicates.
    """
    own = arm_scores([s.get('net') for s in slots])
    records = []
    for slot in slots:
        net, win = slot.get('net'), slot.get('window')
        records.append(dict(
            search_seed=slot['search_seed'],
            net=None if net is None else net.name,
            random=[n.name for n in slot.get('random', [])],
            window=None if win is None else win.as_dict()))
    cpu = sum(cpu_seconds(arm.folder(work_dir, s['search_seed']))
              for s in slots) / 3600
    return dict(spec=arm.spec, config=arm.config, options=list(arm.options),
                slots=records,
                comparison=arm_stats.compare_arm(own, random_scores(slots),
                                                 reps),
                searched_minus=arm_stats.compare_arms(searched, own, reps),
                cpu_hours=cpu)


__all__ = [
    'EXAMPLE', 'ExtraArm', 'RESERVED', 'arm_scores', 'check_same_space',
    'extra_arm_record', 'match_searched', 'parse_extra_arms', 'random_scores'
]
