"""Whole-net timings that follow a known calibration, for the calibration
and level jobs (``densenas_mm.apis.latency_calibration`` /
``latency_level``)."""
import os.path as osp
from typing import Callable, List

from densenas_mm.apis import latency_calibration, latency_level
from densenas_mm.apis.latency_agreement import net_ops, path_sum
from densenas_mm.latency.calibration import Calibration
from helpers import REPO_ROOT

CONFIG = osp.join(REPO_ROOT, 'configs/densenas/'
                  'densenas_supernet-demo_1xb32-20e_fmnist.py')
DEMO_LUT = osp.join(REPO_ROOT, 'docs/records/demo_lut_epyc_t1.json')
# the model the fake machine follows at its level 1
TRUTH = Calibration(1.3, 0.05, 0.2)


class FakeStats:
    """The part of a net's round statistics the jobs read."""

    def __init__(self, value: float):
        self.value, self.rel_err = value, 0.01


def fake_measure(monkeypatch,
                 factor: Callable[[int, int], float] = lambda call, i: 1.0
                 ) -> List[List[str]]:
    """Make both jobs' ``measure_nets`` 'measure' each net at TRUTH's
    model of its LUT sum times ``factor(call, i)`` (``call``: the how-many-
    th measurement, ``i``: the net's place in it).

    Returns:
        list: The nets (``net_config`` strings) of each call, as made.
    """
    seen = []

    def measure(table, archs, device='cpu', backend=None, **timing):
        call = len(seen)
        seen.append([a.to_net_config() for a in archs])
        return [FakeStats(factor(call, i) *
                          TRUTH.net_cost(path_sum(table, a), net_ops(a)))
                for i, a in enumerate(archs)]

    for module in (latency_calibration, latency_level):
        monkeypatch.setattr(module, 'measure_nets', measure)
    return seen
