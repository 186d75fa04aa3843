"""The nets of the searched-vs-random protocol, each retrained once.

A net can play several roles (a random net of two latency windows, the
RS-WS pick that is also a random net, a searched net that the pool also
holds): :class:`NetBook` keeps one :class:`ProtocolNet` per ``net_config``,
its architecture written once under ``<work_dir>/nets/``; its retrains are
the runs of that one name (:func:`retrain_nets`: one run per net and seed
in ``<work_dir>/runs/<name>_seed<seed>/``, finished runs reused). Also: the
pool's latency estimator (:func:`latency_estimator`) and the whole-net
measurement of every net (:func:`measure_protocol_nets`).
"""
import json
import os.path as osp
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

from .pool import write_arch
from .runs import finished, retrain
from .workers import parallel, run_usage


@dataclass
class ProtocolNet:
    """One net of the protocol (retrained once, whatever roles it has).

    Attributes:
        name (str): ``searched_s<seed>``, ``pool_<index>`` (random nets and
            RS-WS picks) or ``uniform_<index>`` (hand-designed).
        arch (str): Its architecture YAML.
        net_config (str): Its identity.
        latency (float): Predicted latency (the pool's estimator number).
        path (list[int]): Its block path.
        roles (list[str]): ``<arm>_s<search seed>`` for each role.
        pool_index (int, optional): Its index in the pool.
        seeds (list[int]): Retrain seeds with a finished run.
        top1_seeds (list[float]): Their top-1 (%).
        measured (float, optional): Measured whole-net latency (ms).
        supernet_top1 (float, optional): Its RS-WS supernet score.
    """
    name: str
    arch: str
    net_config: str
    latency: float
    path: List[int]
    roles: List[str] = field(default_factory=list)
    pool_index: Optional[int] = None
    seeds: List[int] = field(default_factory=list)
    top1_seeds: List[float] = field(default_factory=list)
    measured: Optional[float] = None
    supernet_top1: Optional[float] = None

    @property
    def scores(self) -> Dict[int, float]:
        """Retrain seed -> top-1."""
        return dict(zip(self.seeds, self.top1_seeds))


class NetBook:
    """The protocol's nets by ``net_config`` (each written once under
    ``<work_dir>/nets/``)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.nets: Dict[str, ProtocolNet] = {}

    def add(self, arch: Any, name: str, latency: float, role: str,
            pool_index: Optional[int] = None) -> ProtocolNet:
        """The net of ``arch`` (a ``DerivedArch``), added under ``name``
        unless a net of the same ``net_config`` is already there; ``role``
        appended."""
        key = arch.to_net_config()
        net = self.nets.get(key)
        if net is None:
            path = write_arch(arch.to_dict(), osp.join(self.folder,
                                                       f'{name}.yaml'),
                              dict(latency=round(latency, 4)))
            net = ProtocolNet(name, path, key, float(latency),
                              list(arch.path or []), pool_index=pool_index)
            self.nets[key] = net
        if role not in net.roles:
            net.roles.append(role)
        return net


def latency_estimator(mutator: Any, lut: str, key: str,
                      allow_noisy_lut: bool) -> Callable[[Any], float]:
    """``arch -> predicted latency`` with the pool's estimator and key."""
    from densenas_mm.models.estimators import ChainedLatencyEstimator
    est = ChainedLatencyEstimator(lut=lut, target_device=None,
                                  allow_noisy_lut=allow_noisy_lut)
    est.bind(mutator.space)
    return lambda arch: float(est.estimate(arch)[key])


def measure_protocol_nets(nets: Sequence[ProtocolNet], lut: str) -> None:
    """Fill ``measured``: whole-net latency timed the way the table was,
    all nets in interleaved rounds, with the table's thread count."""
    import torch

    from densenas_mm.apis.latency_agreement import measure_nets
    from densenas_mm.latency import LatencyTable
    from densenas_mm.structures import DerivedArch
    table = LatencyTable.load(lut)
    threads = torch.get_num_threads()
    torch.set_num_threads(int(table.metadata.get('num_threads') or threads))
    try:
        stats = measure_nets(table, [DerivedArch.load(n.arch) for n in nets])
    finally:
        torch.set_num_threads(threads)
    for net, s in zip(nets, stats):
        net.measured = float(s.value)


def run_dir(work_dir: str, net: ProtocolNet, seed: int) -> str:
    """The retrain folder of ``net`` with ``seed``."""
    return osp.join(work_dir, 'runs', f'{net.name}_seed{seed}')


@dataclass
class Retrains:
    """What :func:`retrain_nets` did.

    Attributes:
        runs (int): Runs reported (finished ones with ``finished_only``).
        planned (int): Nets x seeds.
        new (int): Runs that ran in this call.
        cpu_hours (float): CPU-hours recorded by the reported runs.
        machines (dict[str, int]): Reported runs per CPU model that ran
            them (:func:`~.workers.run_usage`).
    """
    runs: int
    planned: int
    new: int
    cpu_hours: float
    machines: Dict[str, int] = field(default_factory=dict)


def retrain_nets(nets: Sequence[ProtocolNet], subnet_config: str,
                 seeds: Sequence[int], work_dir: str,
                 options: Sequence[str], jobs: int,
                 finished_only: bool = False) -> Retrains:
    """Retrain every net with every seed (:func:`.search_quality.retrain`,
    one worker process each, ``jobs`` at once; a finished run is reused)
    and record the top-1 in each net's ``seeds`` / ``top1_seeds``.

    Args:
        nets (Sequence[ProtocolNet]): The nets (each retrained once per
            seed, whatever its roles).
        subnet_config (str): The retrain config.
        seeds (Sequence[int]): The retrain seeds.
        work_dir (str): The experiment's work dir (runs under ``runs/``).
        options (Sequence[str]): The retrains' config options.
        jobs (int): Runs at once.
        finished_only (bool): Start nothing: read the finished runs only.

    Raises:
        RuntimeError: A run failed (with its log's end).
    """
    jobs_list = [(n, s) for n in nets for s in seeds]
    before = [finished(run_dir(work_dir, *j)) for j in jobs_list]
    if finished_only:
        jobs_list = [j for j, done in zip(jobs_list, before) if done]

    def run(job) -> float:
        folder = run_dir(work_dir, *job)
        if finished_only:
            with open(osp.join(folder, 'metrics.json'),
                      encoding='utf-8') as f:
                return float(json.load(f)['accuracy/top1'])
        return float(retrain(subnet_config, job[0].arch, folder, job[1],
                             options, reuse=True)['accuracy/top1'])

    scores = parallel(jobs, run, jobs_list)
    for (net, seed), top in zip(jobs_list, scores):
        net.seeds.append(seed)
        net.top1_seeds.append(top)
    usage = [run_usage(run_dir(work_dir, *j)) for j in jobs_list]
    return Retrains(
        runs=len(jobs_list), planned=len(nets) * len(seeds),
        new=0 if finished_only else sum(not b for b in before),
        cpu_hours=sum(u.cpu_s for u in usage) / 3600,
        machines=dict(Counter(u.machine for u in usage)))


def pool_net(book: NetBook, pool: Dict[str, Any], index: int,
             role: str) -> ProtocolNet:
    """The pool's net ``index`` in ``book`` (``pool_<index>``), with
    ``role``."""
    from densenas_mm.structures import DerivedArch
    entry = pool['archs'][index]
    return book.add(DerivedArch.from_dict(entry['arch']), f'pool_{index}',
                    entry['latency'], role, pool_index=index)


__all__ = [
    'NetBook', 'ProtocolNet', 'Retrains', 'latency_estimator',
    'measure_protocol_nets', 'pool_net', 'retrain_nets', 'run_dir'
]
