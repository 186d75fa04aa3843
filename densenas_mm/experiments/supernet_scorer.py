"""A search checkpoint's supernet scoring nets of its space.

The one place that puts a net in play in a trained supernet, re-estimates
its BatchNorm statistics and evaluates it on search-val, for both users:

- the supernet-ranking study (:mod:`.supernet_ranking`): every BN mode of
  :data:`BN_MODES`, the loss, the path log-probability
  (:meth:`SupernetScorer.score`);
- the RS-WS arm of the searched-vs-random protocol
  (:mod:`.supernet_score`): the recalibrated top-1 that picks its net
  (:meth:`SupernetScorer.recalibrated`).

For a net (an architecture of the checkpoint's space):

1. its choices are put in play (``mutator.set_choices(arch.fix_subnet)``,
   what ``derive()`` does; only its path and ops run);
2. the BN statistics are the checkpoint's (``inherited``), each validation
   batch's own (``batch_stats``, what ``DenseNAS.val_step`` does), or reset
   and re-estimated on the net alone over the first ``bn_batches`` batches
   of the config's ``train_dataloader`` (search-train; the same batches for
   every net: ``recalibrated``, as SPOS and OFA do,
   :func:`~densenas_mm.models.algorithms.recalibrate_bn`);
3. top-1 and mean cross-entropy on the config's ``val_dataloader`` in eval
   mode.
"""
from typing import Any, Dict, Iterator, List, Optional

import torch
import torch.nn.functional as F

from densenas_mm.models.algorithms.steps import bn_state, load_bn_state
from densenas_mm.utils.options import ConfigError

#: The supernet evaluation modes (BN statistics), in report order.
BN_MODES = ('recalibrated', 'inherited', 'batch_stats')
#: Every score: key -> what it is (higher is better for each).
SCORES = {
    'top1_recalibrated': 'supernet top-1, BN recalibrated',
    'top1_inherited': 'supernet top-1, inherited BN statistics',
    'top1_batch_stats': 'supernet top-1, batch BN statistics (search val)',
    'neg_loss_recalibrated': '-loss, BN recalibrated',
    'neg_loss_inherited': '-loss, inherited BN statistics',
    'neg_loss_batch_stats': '-loss, batch BN statistics',
    'logp': 'path log-probability (alpha, beta)',
}


class ScorerInputError(ConfigError):
    """Bad input of a supernet scorer (recalibration batches): the message
    says what is wrong and how to fix it."""


def _loader(cfg_loader: Any, seed: int) -> Any:
    """A dataloader of a config entry, in this process (no workers)."""
    from mmengine.runner import Runner
    loader = dict(cfg_loader)
    loader.update(num_workers=0, persistent_workers=False)
    return Runner.build_dataloader(loader, seed=seed)


class SupernetScorer:
    """A search checkpoint's supernet, scoring nets of its space.

    Args:
        config (str): The search config (model, ``train_dataloader`` =
            search-train, ``val_dataloader`` = search-val).
        checkpoint (str): A search checkpoint of that config.
        bn_batches (int): Search-train batches of the BN recalibration.
        cfg_options (dict, optional): Overrides of the config.
        seed (int): Seed of the loaders' order (which batches recalibrate).

    Raises:
        ScorerInputError: ``bn_batches < 1``, or a search-train loader with
            fewer batches.
        CheckpointError: A checkpoint that is missing, unreadable or not of
            this config's search model.
    """

    def __init__(self, config: str, checkpoint: str, bn_batches: int = 20,
                 cfg_options: Optional[Dict[str, Any]] = None,
                 seed: int = 0) -> None:
        from densenas_mm.apis.model_io import build_classifier, load_config
        from densenas_mm.utils.checkpoint import read_checkpoint, state_of
        from densenas_mm.utils.state_fit import check_state_fits
        if bn_batches < 1:
            raise ScorerInputError(
                f'the BN recalibration needs >= 1 search-train batch, got '
                f'{bn_batches}')
        cfg = load_config(config, cfg_options)
        state = state_of(read_checkpoint(checkpoint), checkpoint)
        # no cost term: scoring reads no latency table
        cfg.model.estimator = None
        cfg.model.cost_loss = None
        model = build_classifier(cfg, None, init=False)
        check_state_fits(model.state_dict(), state, checkpoint,
                         f'the search model of {config}')
        model.load_state_dict(state, strict=True)
        self.model = model.eval()
        self.config = config
        self.checkpoint = checkpoint
        self.bn_batches = bn_batches
        self._bn_state = bn_state(self.model)
        self._val = _loader(cfg.val_dataloader, seed)
        self._recal = self._first_batches(_loader(cfg.train_dataloader, seed),
                                          bn_batches)

    # the model's pieces
    @property
    def mutator(self) -> Any:
        """The dense-routing mutator (alpha, beta, the choice API)."""
        return self.model.mutator

    @property
    def bn_images(self) -> int:
        """Images of the BN recalibration batches."""
        return sum(len(b['data_samples']) for b in self._recal)

    def restore_bn(self) -> None:
        """The checkpoint's BN running statistics again."""
        load_bn_state(self.model, self._bn_state)

    def _first_batches(self, loader: Any, count: int) -> List[Dict]:
        batches = []
        for batch in loader:
            batches.append(self.model.data_preprocessor(batch, False))
            if len(batches) == count:
                break
        if len(batches) < count:
            raise ScorerInputError(
                f'{count} BN recalibration batches asked: the search-train '
                f'loader has only {len(batches)}; ask for fewer')
        return batches

    def logits(self, data: Dict[str, Any]) -> torch.Tensor:
        """Class scores of a preprocessed batch for the choices in play."""
        arch = self.model.architecture
        return arch.head(arch.extract_feat(data['inputs']))

    def _val_batches(self) -> Iterator[Dict[str, Any]]:
        for batch in self._val:
            yield self.model.data_preprocessor(batch, False)

    @torch.no_grad()
    def evaluate(self) -> Dict[str, float]:
        """Top-1 (%) and mean cross-entropy on search-val for the choices in
        play, the model as it is.

        Raises:
            ScorerInputError: A validation loader without images.
        """
        correct, loss, count = 0, 0.0, 0
        for data in self._val_batches():
            scores = self.logits(data)
            target = torch.cat([d.gt_label.label
                                for d in data['data_samples']])
            correct += int((scores.argmax(1) == target).sum())
            loss += float(F.cross_entropy(scores, target, reduction='sum'))
            count += len(target)
        if count == 0:
            raise ScorerInputError(
                f'{self.config}: its val_dataloader gave no images')
        return dict(top1=100.0 * correct / count, loss=loss / count,
                    images=count)

    def put_in_play(self, arch: Any) -> None:
        """Check ``arch`` against the supernet's space and fix its choices
        (what ``derive()`` does for the derived net)."""
        from densenas_mm.structures import check_arch_in_space
        check_arch_in_space(arch, self.mutator.space, self.mutator.graph)
        self.mutator.set_choices(arch.fix_subnet)

    def recalibrated(self, arch: Any) -> Dict[str, float]:
        """:meth:`evaluate` of ``arch`` with BN recalibrated on it (the
        RS-WS score); the checkpoint's BN statistics again afterwards."""
        from densenas_mm.models.algorithms import recalibrate_bn
        self.put_in_play(arch)
        self.model.eval()
        recalibrate_bn(self.model.architecture, self.logits, self._recal)
        try:
            return self.evaluate()
        finally:
            self.restore_bn()

    def score(self, arch: Any) -> Dict[str, Any]:
        """Every supernet score of one net.

        Returns:
            dict: per BN mode of :data:`BN_MODES` its :meth:`evaluate`
            result, and ``logp`` (the path's joint log-probability under
            alpha and beta). The model's BN statistics are the checkpoint's
            again afterwards.
        """
        from densenas_mm.models.algorithms import batch_stat_bn
        from densenas_mm.models.estimators.budget_derivation import \
            arch_logp
        self.put_in_play(arch)
        self.restore_bn()
        self.model.eval()
        out: Dict[str, Any] = dict(inherited=self.evaluate())
        with batch_stat_bn(self.model.architecture):
            out['batch_stats'] = self.evaluate()
        out['recalibrated'] = self.recalibrated(arch)
        params = {k: v.detach() for k, v in self.mutator.arch_params.items()}
        out['logp'] = float(arch_logp(self.mutator.space, self.mutator.graph,
                                      params, arch))
        return out


def score_values(net: Dict[str, Any]) -> Dict[str, float]:
    """The :data:`SCORES` of one scored net (higher is better).

    Args:
        net (dict): ``supernet``: per BN mode the :meth:`SupernetScorer.
            evaluate` result, and ``logp`` (:meth:`SupernetScorer.score`'s
            numbers).
    """
    out = {}
    for mode in BN_MODES:
        out[f'top1_{mode}'] = net['supernet'][mode]['top1']
        out[f'neg_loss_{mode}'] = -net['supernet'][mode]['loss']
    out['logp'] = net['logp']
    return out


__all__ = [
    'BN_MODES', 'SCORES', 'ScorerInputError', 'SupernetScorer',
    'score_values'
]
