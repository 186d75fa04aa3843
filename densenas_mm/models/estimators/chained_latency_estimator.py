"""The chained-latency ResourceEstimator of DenseNAS (its settings groups:
:mod:`.estimator_settings`)."""
import json
import math
import warnings
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmrazor.models.task_modules.estimators import ResourceEstimator
from torch import Tensor

from densenas_mm.latency import (LatencyTable, arch_parts, current_device_name,
                                 space_ops, time_module)
from densenas_mm.latency.schema import LatencyTableError, LatencyTableWarning
from densenas_mm.latency.signature import OpSignature
from densenas_mm.registry import TASK_UTILS
from densenas_mm.search_space import SearchSpace, SpaceGraph
from densenas_mm.structures import DerivedArch
from densenas_mm.utils.settings import group_settings
from .chained_cost import (SpaceCosts, expected_cost_from, path_cost,
                           space_costs)
from .complexity import count_complexity, signature_flops, signature_params
from .estimator_settings import (FLAT_KEYS, METRICS, SETTINGS, UNIT_SCALE,
                                 ModuleCounting, TableTarget)


@TASK_UTILS.register_module()
class ChainedLatencyEstimator(ResourceEstimator):
    """Latency / FLOPs / params of DenseNAS nets and supernets.

    ``estimate`` gives ``dict(latency=ms, flops=M mult-adds, params=M)`` of a
    derived net (latency from the LUT, plain sum along its fixed path, or
    the table's whole-net calibration of it; FLOPs and params analytic). ``expected_cost`` gives the differentiable chained
    expectation of the chosen ``metric`` under a mutator's distributions.

    Unlike mmrazor's ``ResourceEstimator`` it honours ``input_shape`` for
    plain modules, measures latency on CPU too, and leaves a module in the
    training mode it was in.

    Args:
        lut (str | dict | LatencyTable, optional): Latency table (path, JSON
            content or object). Needed for ``metric='latency'``.
        metric (str): Cost of :meth:`expected_cost`: ``'latency'`` (ms),
            ``'flops'`` (M mult-adds) or ``'params'`` (M).
        skip_reg (bool): Skip in a stacking layer costs the layer's first
            candidate / 10 instead of 0.
        space (dict | SearchSpace, optional): Prepare (and check the LUT
            against) this space at construction instead of on first use.
        target (TableTarget | dict, optional): What the table must fit
            (device, batch size, dtype, memory format, what a mismatch
            gets, noisy tables); see :class:`TableTarget`.
        counting (ModuleCounting | dict, optional): mmrazor's
            ``ResourceEstimator`` arguments for plain modules; see
            :class:`ModuleCounting`.
        calibrated (bool): Use the table's whole-net calibration where it
            has one (:mod:`densenas_mm.latency.calibration`): every kept op
            costs ``scale * entry + per_op``, skip 0, and the stem also
            carries the per-net ``constant``; in the chained expected cost,
            ``path_cost``, the budget loss and ``estimate`` alike. False:
            the raw per-op sums.
        **flat: The fields of both as flat keywords, as configs write them
            (:data:`FLAT_KEYS`: ``target_device``, ``batch_size``, ``dtype``,
            ``memory_format``, ``on_mismatch``, ``allow_noisy_lut``,
            ``input_shape``, ``units``, ``as_strings``, ``flops_params_cfg``,
            ``latency_cfg``).

    Raises:
        TypeError: For an unknown keyword, or one given both flat and in
            ``target`` / ``counting``.
        ValueError: For a bad metric or setting, or ``metric='latency'``
            without a table.

    Example:
        >>> estimator = TASK_UTILS.build(dict(
        ...     type='densenas_mm.ChainedLatencyEstimator',
        ...     lut='work_dirs/latency/densenas_mbv2_224_ref.json',
        ...     metric='latency', target_device=None))
        >>> cost = estimator.expected_cost(mutator)   # scalar tensor, ms
        >>> estimator.estimate('arch.yaml')           # dict of floats
    """

    def __init__(self,
                 lut: Union[str, Dict, LatencyTable, None] = None,
                 metric: str = 'latency',
                 skip_reg: bool = False,
                 space: Union[Dict, SearchSpace, None] = None,
                 target: Union[TableTarget, Dict, None] = None,
                 counting: Union[ModuleCounting, Dict, None] = None,
                 calibrated: bool = True,
                 **flat: Any) -> None:
        groups = group_settings(type(self).__name__, SETTINGS,
                                dict(target=target, counting=counting), flat,
                                FLAT_KEYS)
        self.target: TableTarget = groups['target']
        counting = groups['counting']
        super().__init__(counting.input_shape, dict(counting.units),
                         counting.as_strings, counting.flops_params_cfg,
                         counting.latency_cfg)
        if metric not in METRICS:
            raise ValueError(f'metric must be one of {METRICS}, got '
                             f'{metric!r}')
        if isinstance(lut, str):
            lut = LatencyTable.load(lut)
        elif isinstance(lut, dict):
            lut = LatencyTable.from_dict(lut)
        self.table: Optional[LatencyTable] = lut
        if metric == 'latency' and self.table is None:
            raise ValueError(
                "metric='latency' needs a latency table: pass lut='x.json' "
                'built with tools/build_latency_lut.py (or imported with '
                "tools/analysis/import_reference_lut.py), or use "
                "metric='flops'")
        self.metric = metric
        self.skip_reg = skip_reg
        self.calibrated = bool(calibrated) and (
            self.table is not None and self.table.calibration is not None)
        if self.table is not None:
            device = (
                current_device_name()
                if self.target.device == 'auto' else self.target.device)
            self.table.check_target(device)
            self.table.check_quality(allow_noisy=self.target.allow_noisy)
            self.check_setting()
        self._costs: Dict[Tuple[str, str], SpaceCosts] = {}
        self._last: Optional[Tuple[SearchSpace, str, SpaceCosts]] = None
        if space is not None:
            self.bind(space)

    def check_setting(self,
                      batch_size: Optional[int] = None,
                      dtype: Optional[str] = None,
                      memory_format: Optional[str] = None) -> List[str]:
        """Compare the table's batch size, dtype and memory format with the
        target: the estimator's own (:attr:`target`) ``batch_size`` /
        ``dtype`` / ``memory_format`` where set, else the run's values
        given here.

        Args:
            batch_size (int, optional): The run's (per-device) batch size.
            dtype (str, optional): The run's compute dtype.
            memory_format (str, optional): The run's memory format.

        Returns:
            list[str]: The mismatch messages (warned about).

        Raises:
            LatencyTableError: With ``on_mismatch='error'`` and a mismatch.
        """
        if self.table is None:
            return []
        target = self.target
        msgs = self.table.check_target(
            batch_size=target.batch_size
            if target.batch_size is not None else batch_size,
            dtype=target.dtype or dtype,
            memory_format=target.memory_format or memory_format,
            warn=False)
        if msgs and target.on_mismatch == 'error':
            raise LatencyTableError(
                '\n'.join(msgs) + "\n(estimator on_mismatch='error'; set "
                "it to 'warn' to search with this table anyway)")
        for msg in msgs:
            warnings.warn(msg, LatencyTableWarning, stacklevel=2)
        return msgs

    # ------------------------------------------------------- per-op costs
    def op_cost(self, sig: OpSignature, metric: Optional[str] = None) -> float:
        """Cost of one op: ms, or flops / params in the configured units."""
        metric = metric or self.metric
        if metric == 'latency':
            if self.table is None:
                return math.nan
            return self.table.latency(sig, self.calibrated)
        fn = signature_flops if metric == 'flops' else signature_params
        return fn(sig) / UNIT_SCALE[self.units.get(metric, 'M')]

    def space_costs(self,
                    space: SearchSpace,
                    metric: Optional[str] = None) -> SpaceCosts:
        """Per-candidate costs of ``space``, built once and cached.

        Raises:
            LatencyTableError: For ``'latency'`` when the table lacks entries
                the space needs (all named in the message).
        """
        metric = metric or self.metric
        last = self._last
        if last is not None and last[0] is space and last[1] == metric:
            return last[2]  # the per-step fast path: same space object
        key = (json.dumps(space.to_dict(), sort_keys=True), metric)
        if key not in self._costs:
            graph = SpaceGraph(space)
            if metric == 'latency' and self.table is None:
                raise ValueError("latency costs need a table: construct the "
                                 "estimator with lut='x.json'")
            if metric == 'latency':
                self.table.require(
                    space_ops(space, graph).unique(),
                    f'search space {space.name!r}')
            self._costs[key] = space_costs(space,
                                           lambda s: self.op_cost(s, metric),
                                           self.skip_reg, graph)
            self._costs[key].stem += self._net_constant(metric)
        self._last = (space, metric, self._costs[key])
        return self._costs[key]

    def bind(self, space: Union[Dict, SearchSpace]) -> SpaceCosts:
        """Prepare the cost vectors of ``space`` now (fails early when the
        latency table lacks entries it needs)."""
        return self.space_costs(SearchSpace.from_config(space))

    # ------------------------------------------------------ search (chained)
    def expected_cost(self,
                      mutator: Any,
                      metric: Optional[str] = None,
                      all_ops: bool = False) -> Tensor:
        """Chained expected cost under the mutator's distributions.

        Args:
            mutator: Exposes ``space``, ``op_distribution(alias, all_ops)
                -> (indices, weights)`` and ``route_probs(src)``.
            metric (str, optional): Overrides the configured metric.
            all_ops (bool): Weigh every candidate by softmax(alpha) instead
                of the candidates the mutator has in play (the supernet's
                expected cost, independent of the last sampling). Reads the
                mutator only.

        Returns:
            Tensor: Scalar, differentiable w.r.t. alpha and beta.
        """
        costs = self.space_costs(mutator.space, metric)
        return expected_cost_from(
            costs, lambda alias: mutator.op_distribution(alias, all_ops),
            mutator.route_probs)

    def path_cost(self,
                  arch: Any,
                  space: Union[Dict, SearchSpace],
                  metric: Optional[str] = None) -> float:
        """The chained cost the search assigns to a derived net's path.

        Unlike :meth:`estimate` (the derived network as it runs: its skips
        are dropped) this is the search's own number for the path: one-hot
        alpha and beta on it, every skipped stacking layer costed as the
        search costs skip (the table's skip entry or ``skip_reg``). The
        reference code reports this number for its derived nets. With a
        calibrated table (and no ``skip_reg``) skip costs 0, as the
        calibration was fitted on nets that drop it, so the two agree.

        Args:
            arch: A :class:`DerivedArch`, its YAML path, dict or
                ``net_config`` string.
            space (dict | SearchSpace): The space the net was searched in.
            metric (str, optional): Overrides the configured metric.

        Raises:
            ValueError: If the net does not lie in ``space``.
        """
        space = SearchSpace.from_config(space)
        return float(
            path_cost(
                self.space_costs(space, metric), space, SpaceGraph(space),
                DerivedArch.load(arch)))

    # ----------------------------------------------------- derived networks
    def estimate_parts(self, arch: Any) -> List[Dict[str, Any]]:
        """Per part (stem, blocks, terminal, classifier) costs of a net."""
        arch = DerivedArch.load(arch)
        parts = arch_parts(arch)
        if self.table is not None:
            self.table.require([s for _, sigs in parts for s in sigs],
                               'the architecture')
        return [
            dict(
                name=name,
                ops=[s.op for s in sigs],
                **{m: sum(self.op_cost(s, m) for s in sigs) +
                   (self._net_constant(m) if k == 0 else 0.0)
                   for m in METRICS}) for k, (name, sigs) in enumerate(parts)
        ]

    def _net_constant(self, metric: str) -> float:
        """The calibration's per-net ms (carried by the stem), else 0."""
        if metric != 'latency' or self.table is None:
            return 0.0
        return self.table.net_constant(self.calibrated)

    def estimate(self,
                 model: Any,
                 flops_params_cfg: Optional[dict] = None,
                 latency_cfg: Optional[dict] = None
                 ) -> Dict[str, Union[float, str]]:
        """Latency / FLOPs / params of a derived net or a plain module.

        Args:
            model: A :class:`DerivedArch`, its YAML path, dict or
                ``net_config`` string, or an ``nn.Module`` (one carrying a
                DerivedArch as ``.arch`` somewhere is treated as that arch;
                others are counted with mmrazor's counters at ``input_shape``
                and timed when ``latency_cfg`` is given).
            flops_params_cfg (dict, optional): For plain modules.
            latency_cfg (dict, optional): For plain modules.

        Returns:
            dict: ``latency`` (ms; NaN without a table), ``flops`` and
            ``params`` (in ``units``).
        """
        arch = self._find_arch(model)
        if arch is None:
            result = self._estimate_module(model, flops_params_cfg,
                                           latency_cfg)
        else:
            parts = self.estimate_parts(arch)
            result = {m: float(sum(p[m] for p in parts)) for m in METRICS}
        if self.as_strings:
            unit = dict(
                latency='ms',
                **{m: self.units.get(m, 'M')
                   for m in ('flops', 'params')})
            return {k: f'{v:.3f} {unit[k]}' for k, v in result.items()}
        return result

    @staticmethod
    def _find_arch(model: Any) -> Optional[DerivedArch]:
        if not isinstance(model, nn.Module):
            return DerivedArch.load(model)
        for module in model.modules():
            if isinstance(getattr(module, 'arch', None), DerivedArch):
                return module.arch
        return None

    def _estimate_module(self, model: nn.Module, flops_params_cfg: Any,
                         latency_cfg: Any) -> Dict[str, float]:
        cfg = {**self.flops_params_cfg, **(flops_params_cfg or {})}
        shape = tuple(cfg.get('input_shape', self.input_shape))
        counted = count_complexity(model, shape)
        latency = math.nan
        timing = {**self.latency_cfg, **(latency_cfg or {})}
        if timing:
            probe = next(iter(model.parameters()), torch.empty(0))
            device = timing.pop('device', probe.device)
            if torch.device(device) != probe.device:
                raise ValueError(
                    f'latency_cfg asks for device {device} but the model '
                    f'is on {probe.device}; move the model first')
            x = torch.randn(shape, device=probe.device, dtype=probe.dtype)
            latency = time_module(model, x, **timing).stats.mean
        flops, params = counted.macs, counted.params
        return dict(
            latency=float(latency),
            flops=flops / UNIT_SCALE[self.units.get('flops', 'M')],
            params=params / UNIT_SCALE[self.units.get('params', 'M')])
