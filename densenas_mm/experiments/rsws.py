"""Random search with weight sharing (RS-WS) at the search's cost.

The RS-WS arm of the searched-vs-random protocol (:mod:`.search_vs_random`):
one supernet trained with the search config for the search's total epochs
with weight steps only (:func:`rsws_options`: the warm-up hook's
``warmup_epochs`` set to ``max_epochs``, so each step samples one op per
mixed op uniformly; with ``weight_paths='sampled'`` one uniformly drawn
path), then for each searched net the pool's nets in its latency window
scored by that supernet with recalibrated BN (:mod:`.supernet_score`,
one worker job, resumable) and the best one taken (:func:`rsws_arm`).
"""
import json
import os.path as osp
from typing import Any, Dict, List, Sequence

from densenas_mm.apis.cli import parse_cfg_options
from densenas_mm.utils.options import ConfigError
from .latency_windows import LatencyWindow, latency_window
from .protocol_nets import NetBook
from .pool import write_arch
from .runs import SEARCH_LOADERS, loader_options
from .supernet_score import score_archs
from .workers import run_job


def rsws_options(config: str, search_opts: Sequence[str],
                 weight_paths: str = 'sampled') -> List[str]:
    """Options of the RS-WS supernet: the search's options with the warm-up
    over all its epochs (weight steps only, uniformly sampled ops), no
    supernet validation, and ``weight_paths``.

    Raises:
        ConfigError: If the config has no warm-up hook.
    """
    from densenas_mm.apis.derive import WARMUP_HOOK
    from densenas_mm.apis.model_io import load_config
    cfg = load_config(config, parse_cfg_options(list(search_opts)))
    epochs = int(cfg.train_cfg.max_epochs)
    hooks = [i for i, h in enumerate(cfg.get('custom_hooks', []))
             if h.get('type') == WARMUP_HOOK]
    if not hooks:
        raise ConfigError(f'{config} has no {WARMUP_HOOK} in custom_hooks: '
                          'the RS-WS arm trains the supernet as a warm-up')
    return [
        *search_opts, f'custom_hooks.{hooks[0]}.warmup_epochs={epochs}',
        f'train_cfg.val_begin={epochs + 1}',
        f'model.weight_paths={weight_paths}'
    ]


def rsws_arm(config: str, lut: str, book: NetBook, pool: Dict[str, Any],
             slots: List[Dict[str, Any]], supernet_arch: str, folder: str,
             candidates: int, tolerance: float, max_tolerance: float,
             recal_batches: int, seed: int, allow_noisy_lut: bool,
             finished_only: bool) -> bool:
    """Score each slot's candidates with the RS-WS supernet and put the
    best in ``slot['rsws']`` (ties: the earlier pool net).

    Args:
        config (str): The search config.
        lut (str): Its latency table (the model's estimator needs one).
        book (NetBook): The protocol's nets.
        pool (dict): The shared pool.
        slots (list[dict]): One per search seed with a searched net
            (``searched``); gets ``rsws_window`` and ``rsws``.
        supernet_arch (str): The RS-WS supernet's ``arch/last.yaml`` (its
            work dir holds the checkpoint).
        folder (str): Where the scoring's log and ``scores.json`` go.
        candidates (int): Candidates per slot (its latency window).
        tolerance (float): First relative window.
        max_tolerance (float): The widest window.
        recal_batches (int): BN recalibration batches.
        seed (int): Seed of the recalibration loader.
        allow_noisy_lut (bool): Use a table marked noisy.
        finished_only (bool): Run nothing; read finished scores.

    Returns:
        bool: False when the scoring has not finished (``finished_only``).
    """
    from densenas_mm.structures import DerivedArch
    from densenas_mm.utils.resume import read_last_checkpoint
    lats = [e['latency'] for e in pool['archs']]
    windows: List[LatencyWindow] = []
    union: List[int] = []
    for slot in slots:
        win = latency_window(lats, slot['searched'].latency, candidates,
                             tolerance, max_tolerance)
        slot['rsws_window'] = win
        windows.append(win)
        union += [i for i in win.indices if i not in union]
    paths = [
        write_arch(pool['archs'][i]['arch'],
                   osp.join(book.folder, f'pool_{i}.yaml'),
                   dict(latency=round(lats[i], 4))) for i in union
    ]
    out = osp.join(folder, 'scores.json')
    if finished_only:
        if not osp.isfile(out):
            return False
    else:
        options = parse_cfg_options([f'model.estimator.lut={lut}',
                                     *loader_options(SEARCH_LOADERS)] + (
                                         ['model.estimator.allow_noisy_lut='
                                          'True'] if allow_noisy_lut else []))
        supernet_dir = osp.dirname(osp.dirname(supernet_arch))
        run_job('score', score_archs, dict(
            config=config, checkpoint=read_last_checkpoint(supernet_dir),
            archs=paths, out=out, cfg_options=options,
            recal_batches=recal_batches, seed=seed),
            osp.join(folder, 'score.log'), reuse=True)
    with open(out, encoding='utf-8') as f:
        data = json.load(f)
    # by file name: the nets lie in one folder (book.folder), whichever
    # checkout the scores were made in (a work dir copied to a clone)
    scored = {osp.basename(a): float(v)
              for a, v in zip(data['archs'], data['scores'])}
    if not {osp.basename(p) for p in paths} <= set(scored):
        return False  # finished_only: scores of other nets
    for slot, win in zip(slots, windows):
        best = max(win.indices,
                   key=lambda i: (scored[f'pool_{i}.yaml'], -i))
        net = book.add(DerivedArch.from_dict(pool['archs'][best]['arch']),
                       f'pool_{best}', lats[best],
                       f'rsws_s{slot["search_seed"]}', pool_index=best)
        net.supernet_top1 = scored[f'pool_{best}.yaml']
        slot['rsws'] = net
    return True


__all__ = ['rsws_arm', 'rsws_options']
