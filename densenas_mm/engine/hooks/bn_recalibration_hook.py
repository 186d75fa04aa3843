"""Re-estimates the supernet's BN statistics before supernet validation."""
from itertools import islice
from typing import Any, Dict, Optional

import torch
from mmengine.dist import all_reduce_params, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from densenas_mm.models.algorithms.steps import (BN_BUFFERS, bn_state,
                                                 load_bn_state,
                                                 recalibrate_bn)
from densenas_mm.registry import HOOKS
from densenas_mm.utils.seeding import preserved_rngs


@HOOKS.register_module()
class DenseNASBNRecalibrationHook(Hook):
    """Validate the supernet with BN statistics re-estimated for the
    validated mixture (beyond the paper).

    The reference validates the supernet with each batch's own BN
    statistics (``DenseNAS.val_bn == 'batch'``), because the running ones
    were gathered on inputs from other sampled ops. SPOS and OFA instead
    re-estimate the running statistics before evaluating a subnet. This
    hook does that for supernet validation, and so for the ``best.yaml`` /
    top-k selection of ``DenseNASArchHook``:

    - ``before_val_epoch``: the BN buffers are saved, the mutator is put
      in the algorithm's ``val_sampling`` mode, every BN layer's running
      statistics are re-estimated on the first ``batches`` batches of the
      search-train loader (``runner.train_dataloader``, the weight steps'
      data; :func:`~densenas_mm.models.algorithms.recalibrate_bn`) and,
      under DDP, averaged over ranks; validation then uses them
      (``val_bn = 'running'``).
    - ``after_val_epoch``: the saved buffers are put back and
      ``val_bn = 'batch'``, so training, checkpoints and an exact resume
      are as without the hook. The Python, numpy and torch random states
      are restored after the batches were drawn, so the hook changes no
      later draw either.

    Args:
        batches (int): Search-train batches per re-estimation (SPOS: about
            20 batches; the demo's 32-image batches: 640 images).

    Example:
        >>> custom_hooks = [dict(type='densenas_mm.DenseNASBNRecalibrationHook',
        ...                      batches=20)]
    """

    priority = 'NORMAL'

    def __init__(self, batches: int = 20) -> None:
        if not isinstance(batches, int) or isinstance(batches, bool) \
                or batches < 1:
            raise ValueError(f'DenseNASBNRecalibrationHook: batches must be '
                             f'an int >= 1, got {batches!r}')
        self.batches = batches
        self._saved: Optional[Dict[str, torch.Tensor]] = None

    @staticmethod
    def _algorithm(runner) -> Any:
        model = runner.model
        model = model.module if is_model_wrapper(model) else model
        if not hasattr(model, 'val_bn') or not hasattr(model, 'mutator'):
            raise TypeError(
                'DenseNASBNRecalibrationHook needs a DenseNAS model '
                f'(model.type densenas_mm.DenseNAS), got '
                f'{type(model).__name__}')
        return model

    def before_val_epoch(self, runner) -> None:
        """Save the BN buffers and re-estimate them on search-train."""
        algo = self._algorithm(runner)
        loader = runner.train_dataloader
        self._saved = bn_state(algo.architecture)
        algo.mutator.set_sampling(algo.val_sampling)

        def run(batch: Any) -> None:
            data = algo.memory.apply_to_batch(
                algo.data_preprocessor(batch, False))
            algo.architecture(data['inputs'], mode='tensor')

        with preserved_rngs():
            count = recalibrate_bn(algo.architecture, run,
                                   islice(iter(loader), self.batches))
        if get_world_size() > 1:
            buffers = dict(algo.architecture.named_buffers())
            all_reduce_params(
                [buffers[k] for k in self._saved
                 if k.endswith(BN_BUFFERS[:2])], op='mean')
        algo.val_bn = 'running'
        runner.logger.info(
            f'BN statistics re-estimated on {count} search-train batches '
            'for supernet validation')

    def after_val_epoch(self, runner, metrics: Optional[Dict] = None) -> None:
        """Put the training BN statistics back."""
        algo = self._algorithm(runner)
        algo.val_bn = 'batch'
        if self._saved is None:
            return
        load_bn_state(algo.architecture, self._saved)
        self._saved = None
