"""The timed cases of the search-step benchmark and their FLOPs.

Every supernet case is the real ``DenseNAS.train_step`` on a tagged batch
(phase and seed as the search loop gives them); the plain cases are mmcls's
``train_step`` of the derived subnet and of MobileNetV2.
"""
from typing import Callable, Dict

import torch

from densenas_mm.models.algorithms import search_batch, step_seed
from densenas_mm.models.estimators import ChainedLatencyEstimator
from .builders import Bench
from .settings import StepSetting

#: Every case, in table order. ``*_path``: the path-sampling weight steps
#: (``DenseNAS(weight_paths='sampled')``).
CASES = ('weight', 'arch', 'epoch', 'weight_path', 'epoch_path', 'subnet',
         'mbv2')
#: Cases of the supernet (the others are plain classifiers).
SUPERNET_CASES = ('weight', 'arch', 'epoch', 'weight_path', 'epoch_path')
#: Batches one call of a case runs (the epoch mixes: 4 weight + 1 arch).
BATCHES_PER_CALL = dict(epoch=5, epoch_path=5)
WEIGHT_SHARE = 0.8  # search-train share of the search data (reference)


class Stepper:
    """Calls the real train steps with fresh seeds, as a search does.

    Args:
        bench (Bench): The built objects.
    """

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.count = {'weight': 0, 'arch': 0}
        self.setting: StepSetting = None

    def use(self, setting: StepSetting) -> None:
        """Run the next steps in ``setting``."""
        setting.apply_to_algorithm(self.bench.algorithm)
        self.setting = setting

    def step(self, phase: str, paths: str = 'all', index: int = None):
        """One ``train_step`` of ``phase`` with ``weight_paths=paths``."""
        algo = self.bench.algorithm
        if index is None:
            index = self.count[phase]
            self.count[phase] += 1
        if (phase == 'arch' and self.setting is not None
                and self.setting.relist_weights):
            algo.refresh_weight_list()
        data = search_batch(self.bench.batch, phase,
                            step_seed(0, phase, 0, index))
        saved, algo.weight_paths = algo.weight_paths, paths
        try:
            return algo.train_step(data, self.bench.optim)
        finally:
            algo.weight_paths = saved

    def epoch_cycle(self, paths: str = 'all') -> None:
        """4 weight steps + 1 arch step (the search data's 80/20 split)."""
        for _ in range(4):
            self.step('weight', paths)
        self.step('arch')

    def case(self, name: str) -> Callable[[], object]:
        """The call that one timed sample of supernet case ``name`` is."""
        return dict(
            weight=lambda: self.step('weight'),
            arch=lambda: self.step('arch'),
            epoch=lambda: self.epoch_cycle(),
            weight_path=lambda: self.step('weight', 'sampled'),
            epoch_path=lambda: self.epoch_cycle('sampled'))[name]


# --------------------------------------------------------------- FLOPs
def flops_counter() -> ChainedLatencyEstimator:
    """An estimator of the FLOPs metric (for per-op and per-net counts)."""
    return ChainedLatencyEstimator(metric='flops', target_device=None)


def active_forward_mflops(mutator, costs) -> float:
    """Forward M mult-adds per image of the ops the next forward runs.

    The edges are the supernet's :meth:`edges_in_play` (every head and
    terminal branch, or one sampled path); per mixed op the candidates the
    mutator set active.
    """
    edges = mutator.supernet.edges_in_play()
    blocks = {dst for _, dst in edges}
    total = costs.stem + costs.classifier + sum(
        c for src, c in costs.terminals.items()
        if (src, costs.terminal) in edges)

    def ops(alias, vec):
        return sum(vec[i] for i in mutator.ops_in_play(alias))

    for alias, vec in costs.heads.items():
        dst, src = costs.head_edges[alias]
        if (src, dst) in edges:
            total += ops(alias, vec)
    for alias, vec in costs.stacks.items():
        if costs.stack_blocks[alias] in blocks:
            total += ops(alias, vec)
    return total


def res_scale(bench: Bench) -> float:
    """FLOPs scale of the benchmark's resolution vs the space's."""
    return (bench.input_size / bench.space.input_size)**2


def supernet_mflops(bench: Bench, samples: int = 32) -> Dict[str, float]:
    """Mean forward M mult-adds per image of each supernet case over
    ``samples`` sampled steps (the timed steps' seed derivation).

    The mutator state is left to the next real step, which sets its own.
    """
    algo = bench.algorithm
    costs = flops_counter().space_costs(bench.space, 'flops')

    def mean(mode: str, stream: str, sample_path: bool) -> float:
        vals = []
        for k in range(samples):
            g = torch.Generator().manual_seed(step_seed(0, stream, 0, k))
            algo.mutator.set_sampling(mode, g, sample_path=sample_path)
            vals.append(active_forward_mflops(algo.mutator, costs))
        return sum(vals) / len(vals) * res_scale(bench)

    out = dict(
        weight=mean('sample', 'weight', False),
        arch=mean('pair', 'arch', False),
        weight_path=mean('sample', 'weight', True))
    out['epoch'] = (WEIGHT_SHARE * out['weight'] +
                    (1 - WEIGHT_SHARE) * out['arch'])
    out['epoch_path'] = (WEIGHT_SHARE * out['weight_path'] +
                         (1 - WEIGHT_SHARE) * out['arch'])
    return out


def model_mflops(model, input_size: int) -> float:
    """Forward M mult-adds per image of a plain mmcls classifier (mmrazor
    counters, conv/linear only, as the analytic convention)."""
    return flops_counter().estimate(
        model, flops_params_cfg=dict(
            input_shape=(1, 3, input_size, input_size)))['flops']
