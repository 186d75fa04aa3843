"""The DenseNAS algorithm: weight steps and architecture steps."""
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict
from mmengine.structures import BaseDataElement
from mmrazor.models.algorithms import BaseAlgorithm
from torch import Tensor

from densenas_mm.registry import MODELS, TASK_UTILS
from densenas_mm.utils.options import option_int
from densenas_mm.utils.tensors import stack_scalars, to_host
from .guards import StepGuards
from .memory_format import MemoryFormatPolicy
from .optimisers import (GRAD_ZEROING, check_optim_wrapper, clear_grads,
                         grads_frozen, update_arch_params)
from .snapshot import SearchSnapshot, all_ops_expected_cost, take_snapshot
from .steps import SAMPLING_OF_PHASE, batch_stat_bn, step_seed

#: What a weight step runs (the ``weight_paths`` argument of
#: :class:`DenseNAS`): every path (the paper) or one sampled path.
WEIGHT_PATHS = ('all', 'sampled')
#: How the search's weight steps draw ops (the ``weight_sampling`` argument
#: of :class:`DenseNAS`): from softmax(alpha) (the paper) or uniformly.
WEIGHT_SAMPLING = ('alpha', 'uniform')


@MODELS.register_module()
class DenseNAS(BaseAlgorithm):
    """DenseNAS (Fang et al., CVPR 2020) as an mmrazor algorithm.

    Two kinds of steps share one implementation (:meth:`train_step`), used
    unchanged under DDP through :class:`DenseNASDDP`:

    - **weight step** (search-train data): one op sampled per mixed op,
      uniformly in the ``'warmup'`` phase and from softmax(alpha) in the
      ``'weight'`` phase; every head branch still runs, weighted by the
      (detached) path probabilities (``weight_paths='all'``, the paper), or
      only one sampled path runs (``weight_paths='sampled'``);
      cross-entropy; only the ``architecture`` optimiser steps.
    - **arch step** (search-val data): two ops sampled per mixed op from
      softmax(alpha), outputs weighted by the softmax over the pair; loss =
      CE + cost term (Eq. 8) on the chained expected cost; only the
      ``mutator`` optimiser steps; then the sampled alphas are re-balanced
      (Eq. 9).

    A step's phase and sampling seed come with its batch (docs/design.md,
    "How control and data flow"); its gradients are cleared and its
    optimisers stepped as :mod:`.optimisers` describes.

    Args:
        architecture (dict | BaseModel): mmcls ``ImageClassifier`` whose
            backbone is a ``DenseNASSupernet``.
        mutator (dict): ``DenseRoutingMutator`` config.
        estimator (dict, optional): Chained cost estimator config
            (``ChainedLatencyEstimator``); None disables the cost term.
        cost_loss (dict, optional): Cost-term config (``LatencyLoss``).
        sample_seed (int): Base seed of op sampling.
        grad_zeroing (str): How both optimisers clear gradients before
            every backward and after every step, which decides what a weight
            step does to the candidate ops it did not sample:

            - ``'set_to_none'`` (PyTorch >= 2's default): gradients are
              dropped, so an op not sampled in a step has no gradient and
              SGD leaves it untouched (no momentum, no weight decay);
            - ``'in_place'`` (the reference: ``optimizer.zero_grad()`` on
              PyTorch 1.0-1.2 zeroed gradients in place): an op keeps a
              zero gradient once it has been sampled, so every later SGD
              step applies its momentum and weight decay to it, sampled or
              not. The search configs set this. A parameter has such a
              gradient exactly when its optimiser keeps state for it (SGD's
              momentum buffer, Adam's moments), so a resumed run restores
              the zero gradients from the optimiser state it loads (exact
              for optimisers with per-parameter state, as every search
              config's; plain SGD without momentum keeps none).
        val_sampling (str): Mutator mode for supernet validation: ``'all'``
            (every op weighted by softmax(alpha), the reference) or
            ``'argmax'`` (the current derived ops).
        weight_paths (str): What a weight step runs (arch steps, the chained
            cost and validation are the same in both):

            - ``'all'`` (the paper, the default): every head branch of
              every block, weighted by the detached path probabilities
              ``p_ij`` (51 head branches and all 39 stacking layers in the
              MobileNetV2 space);
            - ``'sampled'`` (beyond the paper): one stem-to-terminal path,
              drawn per step like the ops (uniformly per route in warm-up,
              from softmax(beta / T) after; same path on every rank, replayed
              on resume), runs unweighted, so a weight step costs about one
              network (docs/benchmarks.md).
        weight_sampling (str): How the weight steps after warm-up draw one op
            per mixed op (warm-up weight steps always draw uniformly):

            - ``'alpha'`` (the paper, the default): from softmax(alpha);
            - ``'uniform'`` (beyond the paper, as SPOS trains its
              supernet): uniformly, so every op keeps getting trained
              however alpha develops; with ``weight_paths='sampled'`` the
              path is drawn uniformly per route too. Arch steps are
              unchanged.
        channels_last (bool | str): Memory format of the steps: ``False``
            (default) keeps weights and batches contiguous; ``True`` keeps
            the supernet's weights and every batch channels-last;
            ``'auto'`` makes the batches channels-last on CPU only (on the
            paper's space at batch 8: 24% relative float32 gradient error
            against float64, the contiguous kernels' 6%). The policy is
            :class:`~.memory_format.MemoryFormatPolicy` (:attr:`memory`).
        check_finite (bool): Stop with a clear error on NaN/inf loss or
            arch params.
        divergence_guard (dict, optional): Stop, before the update, on a
            finite loss far above its running median
            (:class:`~.guards.DivergenceGuard` arguments: ``factor``,
            ``window``, ``min_steps``, ``floor``); None disables it. All
            ranks stop together. Both checks are
            :class:`~.guards.StepGuards` (:attr:`guards`).
        data_preprocessor (dict, optional): Defaults to the architecture's.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 architecture: Union[BaseModel, Dict],
                 mutator: Dict = dict(type='densenas_mm.DenseRoutingMutator'),
                 estimator: Optional[Dict] = None,
                 cost_loss: Optional[Dict] = None,
                 sample_seed: int = 0,
                 grad_zeroing: str = 'set_to_none',
                 val_sampling: str = 'all',
                 check_finite: bool = True,
                 divergence_guard: Optional[Dict] = dict(
                     factor=100.0, window=100, min_steps=20, floor=1.0),
                 channels_last: Union[bool, str] = False,
                 weight_paths: str = 'all',
                 weight_sampling: str = 'alpha',
                 data_preprocessor: Optional[Union[Dict,
                                                   torch.nn.Module]] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        if isinstance(data_preprocessor, dict) and 'type' not in \
                data_preprocessor:
            # mmcls configs keep a type-less top-level `data_preprocessor`,
            # which the Runner merges into `model`; default its type as
            # mmcls's ImageClassifier does instead of failing to build it.
            data_preprocessor = dict(
                type='mmcls.ClsDataPreprocessor', **data_preprocessor)
        super().__init__(architecture, data_preprocessor, init_cfg)
        self.mutator = (
            MODELS.build(mutator) if isinstance(mutator, dict) else mutator)
        self.mutator.prepare_from_supernet(self.architecture)
        if estimator is not None and isinstance(estimator, dict):
            estimator = TASK_UTILS.build(estimator)
        self.estimator = estimator
        if self.estimator is not None:
            # Fails here, before training, when the table misses entries.
            self.estimator.bind(self.mutator.space)
        if cost_loss is not None and isinstance(cost_loss, dict):
            cost_loss = MODELS.build(cost_loss)
        if cost_loss is not None and self.estimator is None:
            raise ValueError('cost_loss needs an estimator to compute the '
                             'expected cost; set model.estimator')
        self.cost_loss = cost_loss
        if val_sampling not in ('all', 'argmax'):
            raise ValueError("val_sampling must be 'all' or 'argmax', got "
                             f'{val_sampling!r}')
        for name, value, allowed in (
            ('grad_zeroing', grad_zeroing, GRAD_ZEROING),
            ('weight_paths', weight_paths, WEIGHT_PATHS),
            ('weight_sampling', weight_sampling, WEIGHT_SAMPLING)):
            if value not in allowed:
                raise ValueError(f'DenseNAS: {name} must be one of '
                                 f'{allowed}, got {value!r}')
        self.sample_seed = option_int('model.sample_seed', sample_seed)
        self.grad_zeroing = grad_zeroing
        self.val_sampling = val_sampling
        self.weight_paths = weight_paths
        self.weight_sampling = weight_sampling
        self.guards = StepGuards(check_finite, divergence_guard)
        self.memory = MemoryFormatPolicy(channels_last)
        self.memory.apply_to_model(self.architecture)
        #: Which BN statistics supernet validation uses: ``'batch'`` (the
        #: batch's own, as the reference) or ``'running'`` (the running
        #: statistics, which ``DenseNASBNRecalibrationHook`` re-estimates
        #: before every validation and puts back after it).
        self.val_bn = 'batch'
        self._untagged_steps = 0
        # The architecture's parameters, listed once (_weights_frozen).
        self._weight_params: Optional[List[torch.nn.Parameter]] = None

    # ------------------------------------------------------------- steps
    def train_step(self,
                   data: Any,
                   optim_wrapper: OptimWrapperDict,
                   model_call: Optional[Callable] = None,
                   arch_grad_sync: Optional[Callable] = None
                   ) -> Dict[str, Tensor]:
        """One weight or architecture step.

        Args:
            data: A batch tagged by :func:`~.steps.search_batch` (phase and
                seed), or a plain batch (then a ``'warmup'`` weight step with
                a local seed).
            optim_wrapper (OptimWrapperDict): ``architecture`` (weights) and
                ``mutator`` (alpha/beta) wrappers.
            model_call (callable, optional): What runs the forward; the DDP
                wrapper passes itself in weight steps so gradients are
                synchronised.
            arch_grad_sync (callable, optional): Called with the list of
                arch parameters between the backward and the update of an
                architecture step (the DDP wrapper's all-reduce of the
                alpha/beta gradients, :func:`~.ddp.all_reduce_arch_grads`).

        Returns:
            dict[str, Tensor]: Log variables, keys prefixed by the phase for
            arch steps.
        """
        if isinstance(data, dict) and 'densenas_phase' in data:
            phase, seed, batch = (data['densenas_phase'],
                                  data['densenas_seed'], data['batch'])
        else:
            phase, batch = 'warmup', data
            seed = step_seed(self.sample_seed, 'untagged', 0,
                             self._untagged_steps)
            self._untagged_steps += 1
        if phase not in SAMPLING_OF_PHASE:
            raise ValueError(f'unknown step phase {phase!r}; phases are '
                             f'{tuple(SAMPLING_OF_PHASE)}')
        check_optim_wrapper(optim_wrapper)
        model_call = model_call or self
        generator = torch.Generator().manual_seed(seed)
        mode = SAMPLING_OF_PHASE[phase]
        if phase == 'weight' and self.weight_sampling == 'uniform':
            mode = 'uniform'
        self.mutator.set_sampling(
            mode,
            generator,
            arch_grad=phase == 'arch',
            sample_path=phase != 'arch' and self.weight_paths == 'sampled')
        wrapper = optim_wrapper['mutator' if phase == 'arch' else
                                'architecture']
        zero_kwargs = clear_grads(optim_wrapper, self.grad_zeroing)
        # Arch steps need no weight gradients: not computing them saves
        # about a third of the step (docs/benchmarks.md) and cannot leak.
        with self._weights_frozen(phase == 'arch'):
            with wrapper.optim_context(self):
                batch = self.memory.apply_to_batch(
                    self.data_preprocessor(batch, True))
                losses = model_call(
                    batch['inputs'],
                    batch['data_samples'],
                    mode='loss',
                    phase=phase)
            loss, log_vars = self.parse_losses(losses)
            if phase == 'arch':
                # Checked after the update (its one host read carries the
                # flags with the updated alpha/beta); a stop puts alpha/beta
                # back to this snapshot, so nothing bad stays in the model.
                snapshot = self.mutator.arch_snapshot()
                update_arch_params(wrapper, loss, zero_kwargs, self.mutator,
                                   arch_grad_sync)
            else:
                log_vars = self.guards.check_weight_step(
                    loss, phase, log_vars)
                wrapper.update_params(loss, zero_kwargs=zero_kwargs)
        if phase == 'arch':
            self.mutator.rebalance(snapshot)
            log_vars = self._finish_arch_step(loss, log_vars, snapshot)
            return {f'arch_{k}': v for k, v in log_vars.items()}
        return log_vars

    def _finish_arch_step(self, loss: Tensor, log_vars: Dict[str, Tensor],
                          snapshot: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The architecture step's one host read: the stop flags, the
        updated alpha/beta (the host copy the next steps sample from), the
        entropies and the logged values; stop (alpha/beta put back) on a
        bad loss or non-finite alpha/beta."""
        # alpha/beta flattened once: the host copy and the finiteness check
        flat = self.mutator.arch_flat()
        flags = self.guards.flags(loss, 'arch', [flat])
        parts = [
            flat,
            self.mutator.entropy_tensor(),
            stack_scalars(log_vars)
        ]
        host = to_host(parts + ([flags] if flags is not None else []))
        self.mutator.adopt_host_copy(host[0])
        if flags is not None:
            try:
                self.guards.verdict(host[3].tolist(), 'arch')
            except FloatingPointError:
                self.mutator.restore(snapshot)
                raise
        out = dict(zip(log_vars, host[2].unbind()))
        out.update({
            k: torch.tensor(v)
            for k, v in self.mutator.entropy_from(host[1].tolist()).items()
        })
        return out

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor',
                phase: str = 'warmup') -> Any:
        """mmengine's forward, with the step phase passed on to the loss."""
        if mode == 'loss':
            return self.loss(inputs, data_samples, phase=phase)
        return super().forward(inputs, data_samples, mode)

    def loss(self,
             inputs: Tensor,
             data_samples: Optional[List[BaseDataElement]] = None,
             phase: str = 'warmup') -> Dict[str, Tensor]:
        """CE (+ the cost term in the ``'arch'`` phase) and the batch's
        top-1 accuracy."""
        arch = self.architecture
        feats = arch.extract_feat(inputs)
        scores = arch.head(feats)
        losses = arch.head._get_loss(scores, data_samples)
        with torch.no_grad():
            target = torch.cat([d.gt_label.label for d in data_samples])
            losses['acc_top1'] = (scores.argmax(1) == target.to(
                scores.device)).float().mean() * 100
        if phase == 'arch' and self.cost_loss is not None:
            expected = self.estimator.expected_cost(self.mutator)
            losses['loss_cost'] = self.cost_loss(expected)
            losses['expected_cost'] = expected.detach()
        return losses

    @contextmanager
    def _weights_frozen(self, frozen: bool) -> Iterator[None]:
        """Turn off gradients of the architecture's weights for a block
        (:func:`~.optimisers.grads_frozen`).

        The parameters are listed once (walking the supernet's ~7,000
        modules took ~20 ms a step on the MobileNetV2 space). A parameter
        added to the architecture later is not frozen, which costs its
        gradient's time and nothing else (gradients are cleared before
        every backward); :meth:`refresh_weight_list` lists them again.
        """
        if not frozen:
            yield
            return
        if self._weight_params is None:
            self.refresh_weight_list()
        with grads_frozen(self._weight_params):
            yield

    def refresh_weight_list(self) -> None:
        """List the architecture's parameters again (after changing its
        modules), for the architecture steps' freezing."""
        self._weight_params = list(self.architecture.parameters())

    # -------------------------------------------------------- validation
    @property
    def memory_format(self) -> str:
        """The memory format a run declares for its latency-table check
        (:attr:`.MemoryFormatPolicy.memory_format`)."""
        return self.memory.memory_format

    @property
    def channels_last(self) -> Union[bool, str]:
        """The ``channels_last`` setting; setting it replaces the policy
        (the weights keep their format)."""
        return self.memory.channels_last

    @channels_last.setter
    def channels_last(self, value: Union[bool, str]) -> None:
        self.memory = MemoryFormatPolicy(value)

    def _run_forward(self, data: Any, mode: str) -> Any:
        # val/test steps: the preprocessed batch passes through here
        if isinstance(data, dict):
            data = self.memory.apply_to_batch(data)
        return super()._run_forward(data, mode)

    def val_step(self, data: Any) -> list:
        """Supernet validation with the ``val_sampling`` mode.

        As in the reference (``val_bn == 'batch'``), BN normalises with the
        batch's statistics: the running statistics of a supernet op were
        gathered on inputs from other sampled ops and do not fit the
        validated mixture. Unlike the reference, the running statistics are
        left untouched (momentum 0), so validating does not change the
        model. With ``val_bn == 'running'`` (set by
        ``DenseNASBNRecalibrationHook`` after it re-estimated them for the
        validated mixture) BN uses the running statistics.
        """
        return self._supernet_eval(super().val_step, data)

    def test_step(self, data: Any) -> list:
        """Same as :meth:`val_step`."""
        return self._supernet_eval(super().test_step, data)

    def _supernet_eval(self, step: Callable[[Any], list], data: Any) -> list:
        self.mutator.set_sampling(self.val_sampling)
        if self.val_bn == 'running':
            return step(data)
        with batch_stat_bn(self.architecture):
            return step(data)

    # ------------------------------------------------------------ queries
    def expected_cost(self) -> float:
        """Chained expected cost with every op weighted by softmax(alpha).

        A query: it reads alpha/beta and changes nothing (the ops the
        mutator has in play stay as they are).
        """
        if self.estimator is None:
            raise RuntimeError('no estimator configured')
        return all_ops_expected_cost(self.mutator, self.estimator)

    def snapshot(self, meta: Optional[Dict] = None) -> SearchSnapshot:
        """Derived architecture, entropies and costs of the current state.

        A query, as :meth:`expected_cost` (:func:`~.snapshot.take_snapshot`).
        """
        return take_snapshot(self.mutator, self.estimator, meta)
