"""The shared pool of random nets of a search space, and net files.

One pool of random architectures (random alphas and betas, derived as
after a search: :mod:`densenas_mm.apis.random_arch`), each with its
estimated latency, is drawn once per setting and kept as one JSON file
(gzip-compressed when its name ends in ``.gz``). The signal check picks its
latency-matched nets from it, and the searched-vs-random protocol and the
budget front reuse it for every arm, so that every experiment of a
setting draws its random nets from the same population. A pool records
the settings it was drawn with (the config as given, the table's content,
seed, draws, std, latency key) and is only reused with them.
"""
import gzip
import hashlib
import json
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from densenas_mm.utils.io import atomic_path

#: Format version of ``pool.json``.
POOL_VERSION = 1


def draw_pool(config: str, lut: str, seed: int = 0, draws: int = 5000,
              std: float = 3.0, latency_key: str = 'latency',
              allow_noisy_lut: bool = False) -> Dict[str, Any]:
    """Draw random architectures of ``config``'s space; the distinct ones,
    in draw order, with their estimated latency.

    Args:
        config (str): A DenseNAS search config (its space and mutator).
        lut (str): The latency table.
        seed (int): Seed of the random logits.
        draws (int): Architectures drawn (duplicates are kept once).
        std (float): Std of the random logits.
        latency_key (str): Which number of the estimator's result the pool
            is matched on (``'latency'``: the table's sum; a calibrated
            estimate once the table carries a calibration).
        allow_noisy_lut (bool): Use a table marked noisy.

    Returns:
        dict: The pool (``version``, its settings, ``archs``: a list of
        ``{latency, arch}`` with the architecture as ``DerivedArch.to_dict``).
    """
    import torch

    from densenas_mm.apis.random_arch import build_search_mutator, random_arch
    from densenas_mm.models.estimators import ChainedLatencyEstimator
    mutator = build_search_mutator(config)
    est = ChainedLatencyEstimator(lut=lut, target_device=None,
                                  allow_noisy_lut=allow_noisy_lut)
    est.bind(mutator.space)
    gen = torch.Generator().manual_seed(seed)
    seen = set()
    archs = []
    for _ in range(draws):
        arch = random_arch(mutator, gen, std)
        key = arch.to_net_config()
        if key in seen:
            continue
        seen.add(key)
        result = est.estimate(arch)
        if latency_key not in result:
            raise ValueError(f'the estimator gives no {latency_key!r}; it '
                             f'gives {sorted(result)}')
        archs.append(dict(latency=float(result[latency_key]),
                          arch=arch.to_dict()))
    return dict(version=POOL_VERSION, config=config, lut=osp.abspath(lut),
                lut_sha256=file_sha256(lut), seed=seed, draws=draws, std=std, latency_key=latency_key,
                archs=archs)


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes (a pool names its table by content, so a
    copied table still matches)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def read_pool(path: str) -> Dict[str, Any]:
    """A pool file (gzip-compressed JSON when its name ends in ``.gz``)."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rt', encoding='utf-8') as f:
        return json.load(f)


def write_pool(pool: Dict[str, Any], path: str) -> None:
    """Write a pool atomically (gzip, with a fixed header time, when the
    name ends in ``.gz``: the same pool gives the same bytes)."""
    data = (json.dumps(pool) + '\n').encode('utf-8')
    with atomic_path(path) as tmp:
        if path.endswith('.gz'):
            with open(tmp, 'wb') as raw, gzip.GzipFile(
                    filename='', mode='wb', fileobj=raw, mtime=0) as f:
                f.write(data)
        else:
            with open(tmp, 'wb') as f:
                f.write(data)


def load_or_draw_pool(path: str, config: str, lut: str, seed: int = 0,
                      draws: int = 5000, std: float = 3.0,
                      latency_key: str = 'latency',
                      allow_noisy_lut: bool = False) -> Dict[str, Any]:
    """The pool at ``path``; drawn (:func:`draw_pool`) and written
    atomically when there is none.

    Raises:
        ValueError: If the file holds a pool drawn with other settings
            (config as given, table content, seed, draws, std or latency
            key): pass another path, or the settings it was drawn with.
    """
    wanted = dict(version=POOL_VERSION, config=config,
                  lut_sha256=file_sha256(lut), seed=seed, draws=draws, std=std, latency_key=latency_key)
    if osp.isfile(path):
        pool = read_pool(path)
        differ = {k: (pool.get(k), v) for k, v in wanted.items()
                  if pool.get(k) != v}
        if differ:
            raise ValueError(
                f'the pool {path} was drawn with other settings '
                + ', '.join(f'{k}: {a!r} (asked {b!r})'
                            for k, (a, b) in differ.items())
                + '; pass its settings or another --pool path')
        return pool
    pool = draw_pool(config, lut, seed, draws, std, latency_key,
                     allow_noisy_lut)
    write_pool(pool, path)
    return pool


def pick_matched(pool: Dict[str, Any], count: int,
                 latency: Optional[float] = None,
                 quantile: Optional[float] = None,
                 tolerance: float = 0.01
                 ) -> Tuple[float, List[Dict[str, Any]]]:
    """``count`` pool entries within ``tolerance`` of one latency, in draw
    order.

    Args:
        pool (dict): A pool (:func:`draw_pool`).
        count (int): How many architectures.
        latency (float, optional): The latency (ms) to match.
        quantile (float, optional): Else this quantile of the pool's
            latencies (default 0.5: the median).
        tolerance (float): Relative window around the latency.

    Returns:
        tuple: The target latency and the picked entries.

    Raises:
        ValueError: If both ``latency`` and ``quantile`` are given, or fewer
            than ``count`` entries lie in the window.
    """
    if latency is not None and quantile is not None:
        raise ValueError('give a latency or a latency quantile, not both')
    lats = np.array([e['latency'] for e in pool['archs']])
    if latency is None:
        q = 0.5 if quantile is None else quantile
        if not 0 <= q <= 1:
            raise ValueError(f'the latency quantile must lie in [0, 1], '
                             f'got {q}')
        latency = float(np.quantile(lats, q))
    inside = [e for e in pool['archs']
              if abs(e['latency'] / latency - 1) <= tolerance]
    if len(inside) < count:
        raise ValueError(
            f'only {len(inside)} of the pool\'s {len(lats)} distinct '
            f'architectures lie within {tolerance:.1%} of {latency:.3f} ms '
            f'(pool range {lats.min():.3f}-{lats.max():.3f} ms), {count} '
            'asked: choose a latency nearer the pool median, a larger '
            '--tolerance or more --pool-draws')
    return latency, inside[:count]


def write_arch(arch_dict: Dict[str, Any], path: str,
               meta: Optional[Dict[str, Any]] = None) -> str:
    """Write one architecture (``DerivedArch.to_dict`` form, ``meta``
    added) to ``path``; an existing file of the same net is kept.

    Raises:
        ValueError: If ``path`` already holds a different architecture (its
            runs would be reused for another net): use a new work dir.
    """
    from densenas_mm.structures import DerivedArch
    arch = DerivedArch.from_dict(arch_dict)
    if osp.isfile(path):
        old = DerivedArch.load(path).to_net_config()
        if old != arch.to_net_config():
            raise ValueError(
                f'{path} holds another architecture than the one asked now '
                '(other pool, latency, tolerance or search); its runs would '
                'be reused for the wrong net: use a new --work-dir')
    else:
        arch.meta.update(meta or {})
        arch.dump(path)
    return path


def write_archs(entries: Sequence[Dict[str, Any]], folder: str) -> List[str]:
    """The picked architectures as ``arch_<k>.yaml`` files
    (:func:`write_arch`)."""
    return [
        write_arch(entry['arch'], osp.join(folder, f'arch_{k}.yaml'),
                   dict(latency=round(entry['latency'], 4)))
        for k, entry in enumerate(entries)
    ]


__all__ = [
    'POOL_VERSION', 'draw_pool', 'file_sha256', 'load_or_draw_pool',
    'pick_matched', 'read_pool', 'write_arch', 'write_archs', 'write_pool'
]
