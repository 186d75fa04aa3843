"""Scoring nets with a trained supernet (the RS-WS arm's selection).

Random search with weight sharing (Li & Talwalkar, UAI 2019; SPOS) trains
one supernet with uniformly sampled ops and paths, then ranks candidate
nets by the supernet's accuracy of each with its inherited weights. Each
candidate (an architecture YAML of the search space) is scored by
:meth:`.supernet_scorer.SupernetScorer.recalibrated`: its choices put in
play in the supernet, the BatchNorm running statistics recalibrated on the
first ``recal_batches`` batches of the config's ``train_dataloader``
(search-train; the same batches for every candidate), as SPOS and OFA do
(statistics a supernet op gathered while other ops ran before it do not
fit the candidate), then its top-1 on the config's ``val_dataloader``
(search-val for the demo search configs) in eval mode.

:func:`score_archs` runs in a worker process (:mod:`.workers`: it builds
the model and loaders, mmengine state is process-wide) and writes the
scores as JSON.
"""
from typing import Any, Dict, List, Optional

import torch

from densenas_mm.utils.io import dump_json_atomic
from .supernet_scorer import SupernetScorer


def score_archs(config: str,
                checkpoint: str,
                archs: List[str],
                out: str,
                cfg_options: Optional[Dict[str, Any]] = None,
                recal_batches: int = 20,
                seed: int = 0) -> List[float]:
    """Score architectures with a trained supernet; write ``out`` (JSON:
    ``scores`` in the order of ``archs``, and the settings).

    Args:
        config (str): The search config the supernet was trained with.
        checkpoint (str): The supernet checkpoint (a search's).
        archs (list[str]): Architecture YAML files of the config's space.
        out (str): The JSON file to write (atomically).
        cfg_options (dict, optional): Config overrides (as the training's:
            the latency table, loaders).
        recal_batches (int): Search-train batches of the BN recalibration.
        seed (int): Seed of the recalibration loader's order.

    Returns:
        list[float]: The supernet top-1 (%) of each architecture.

    Raises:
        ScorerInputError: For ``recal_batches`` < 1 or more than the
            search-train loader has.
        CheckpointError: A checkpoint not of this config's search model.
    """
    from densenas_mm.structures import DerivedArch
    torch.manual_seed(seed)
    scorer = SupernetScorer(config, checkpoint, recal_batches, cfg_options,
                            seed=seed)
    scores = [scorer.recalibrated(DerivedArch.load(path))['top1']
              for path in archs]
    dump_json_atomic(dict(archs=list(archs), scores=scores,
                          checkpoint=checkpoint,
                          recal_batches=recal_batches, seed=seed), out)
    return scores


__all__ = ['score_archs']
