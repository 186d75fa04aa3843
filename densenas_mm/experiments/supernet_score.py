"""Scoring nets with a trained supernet (the RS-WS arm's selection).

Random search with weight sharing (Li & Talwalkar, UAI 2019; SPOS) trains
one supernet with uniformly sampled ops and paths, then ranks candidate
nets by the supernet's accuracy of each with its inherited weights. Here,
for each candidate (an architecture YAML of the search space):

1. the candidate is put in play in the supernet
   (``mutator.set_choices(arch.fix_subnet)``: only its path and ops run);
2. the BatchNorm running statistics are recalibrated on the first
   ``recal_batches`` batches of the config's ``train_dataloader``
   (search-train; the same batches for every candidate), as SPOS and OFA
   do: statistics a supernet op gathered while other ops ran before it do
   not fit the candidate
   (:func:`densenas_mm.models.algorithms.recalibrate_bn`);
3. its top-1 on the config's ``val_dataloader`` (search-val for the demo
   search configs) in eval mode is its score.

:func:`score_archs` runs in a worker process (:mod:`.workers`: it builds
the model and loaders, mmengine state is process-wide) and writes the
scores as JSON.
"""
import itertools
from typing import Any, Dict, Iterable, List, Optional

import torch

from densenas_mm.models.algorithms import recalibrate_bn
from densenas_mm.utils.io import dump_json_atomic


@torch.no_grad()
def supernet_top1(model: Any, arch: Any, recal: List[Any],
                  val_loader: Iterable[Any]) -> float:
    """Top-1 (%) of ``arch`` inside the search model ``model`` (a
    ``DenseNAS`` algorithm), BN recalibrated on the preprocessed inputs
    ``recal`` first.

    Args:
        model: The search model (eval mode).
        arch (DerivedArch): A net of the model's space.
        recal (list[Tensor]): Preprocessed input batches.
        val_loader (Iterable): Raw batches of the validation loader.
    """
    net = model.architecture
    model.mutator.set_choices(arch.fix_subnet)
    recalibrate_bn(net, lambda x: net(x, mode='tensor'), recal)
    correct, total = 0, 0
    for batch in val_loader:
        data = model.data_preprocessor(batch, False)
        logits = net(data['inputs'], mode='tensor')
        target = torch.cat([d.gt_label.label for d in data['data_samples']])
        correct += int((logits.argmax(1) == target).sum())
        total += len(target)
    if total == 0:
        raise ValueError('the validation loader gave no images')
    return 100.0 * correct / total


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
        ValueError: For ``recal_batches`` < 1.
    """
    from mmengine.runner import Runner

    from densenas_mm.apis.model_io import build_classifier, load_config
    from densenas_mm.structures import DerivedArch
    if recal_batches < 1:
        raise ValueError(f'recal_batches must be >= 1, got {recal_batches}')
    torch.manual_seed(seed)
    cfg = load_config(config, cfg_options)
    model = build_classifier(cfg, checkpoint, init=False)
    train_loader = Runner.build_dataloader(cfg.train_dataloader, seed=seed)
    val_loader = Runner.build_dataloader(cfg.val_dataloader, seed=seed)
    recal = [
        model.data_preprocessor(batch, False)['inputs']
        for batch in itertools.islice(train_loader, recal_batches)
    ]
    scores = [
        supernet_top1(model, DerivedArch.load(path), recal, val_loader)
        for path in archs
    ]
    dump_json_atomic(dict(archs=list(archs), scores=scores,
                          checkpoint=checkpoint,
                          recal_batches=len(recal), seed=seed), out)
    return scores


__all__ = ['score_archs', 'supernet_top1']
