"""The settings of a run that a resume must not change silently.

:func:`run_settings` collects them from a runner (world size, batch sizes
of the training loaders, seed, max epochs, warm-up epochs, the latency
table's identity); ``DenseNASCheckpointHook`` stores them in every
checkpoint's ``meta['densenas_run']`` and, on ``--resume``, logs a warning
listing what changed (:func:`changed_settings`): a resume with another
world size or batch size shifts the LR schedule and the data order, another
table or seed makes another search.
"""
import hashlib
import json
from typing import Any, Dict, List, Optional

from mmengine.dist import get_world_size
from mmengine.model import is_model_wrapper

#: Checkpoint ``meta`` key of the settings.
META_KEY = 'densenas_run'


def _loader_batch_sizes(cfg: Any, prefix: str, out: Dict[str, Any]) -> None:
    """``out[key path] = batch_size`` of every loader dict under ``cfg``."""
    if isinstance(cfg, dict):
        if 'dataset' in cfg and 'batch_size' in cfg:
            out[f'{prefix}.batch_size'] = cfg['batch_size']
        for key, value in cfg.items():
            _loader_batch_sizes(value, f'{prefix}.{key}', out)


def table_identity(model: Any) -> Optional[str]:
    """``SOURCE (sha256 12 hex)`` of the latency table the model's cost
    estimator reads (None without one): the hash covers the entries and
    metadata, so a rebuilt table at the same path counts as another."""
    model = model.module if is_model_wrapper(model) else model
    table = getattr(getattr(model, 'estimator', None), 'table', None)
    if table is None:
        return None
    text = json.dumps(table.to_dict(), sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]
    return f'{table.source} ({digest})'


def _warmup_epochs(runner: Any) -> Optional[int]:
    for hook in runner.hooks:
        if hasattr(hook, 'warmup_epochs'):
            return int(hook.warmup_epochs)
    return None


def run_settings(runner: Any) -> Dict[str, Any]:
    """The settings of ``runner``'s training run (JSON-able values).

    Returns:
        dict: ``world_size``, ``seed``, ``max_epochs``, ``warmup_epochs``
        (searches), ``latency_table`` (searches with a table), and
        ``<loader path>.batch_size`` for the training loaders
        (``train_dataloader`` and the loaders inside ``train_cfg``, e.g.
        the search's architecture loader).
    """
    cfg = runner.cfg
    out: Dict[str, Any] = dict(
        world_size=get_world_size(),
        seed=runner.seed,
        max_epochs=cfg.get('train_cfg', {}).get('max_epochs'),
        warmup_epochs=_warmup_epochs(runner),
        latency_table=table_identity(runner.model))
    _loader_batch_sizes(cfg.get('train_dataloader'), 'train_dataloader', out)
    _loader_batch_sizes(cfg.get('train_cfg'), 'train_cfg', out)
    return {k: v for k, v in out.items() if v is not None}


def changed_settings(saved: Dict[str, Any],
                     now: Dict[str, Any]) -> List[str]:
    """``key: saved -> now`` for every setting that differs."""
    return [
        f'{key}: {saved.get(key)!r} -> {now.get(key)!r}'
        for key in sorted(set(saved) | set(now))
        if saved.get(key) != now.get(key)
    ]
