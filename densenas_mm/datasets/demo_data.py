"""Embedded demo data: scikit-learn's handwritten digits as an image dataset.

``sklearn.datasets.load_digits`` ships 1797 8x8 grey images of the digits
0-9 inside the scikit-learn package, so the demo and the tests need no
download. :func:`build_demo_data` turns them into a real on-disk
image-classification dataset in mmcls ``CustomDataset`` format::

    <root>/
      classes.txt                 # '0' .. '9', one per line
      images/<label>/<index>.png  # 32x32 RGB (3 equal channels)
      meta/search_train.txt       # 'images/3/0003.png 3' lines
      meta/search_val.txt
      meta/test.txt
      meta/train.txt              # search_train + search_val (retraining)
      meta/info.json              # seed, fractions and counts

Each class is split deterministically (seeded permutation) into 60 %
search-train, 20 % search-val and 20 % test. Annotation lines are ordered by
sample index, so that the first N lines of a split mix all classes.

The build is atomic (written to a temporary sibling directory, then renamed)
and idempotent (a complete dataset is verified and left untouched). The
temporary directory's name carries the host and PID of the build
(``.NAME.tmp-HOST-PID-XXXX``); every later build (also one that finds the
dataset complete) removes the temporaries of builds on this host whose
process is gone (a killed build), and those of the old unnamed form
(``.NAME.tmp-XXXX``).
"""
import json
import os
import os.path as osp
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from densenas_mm.utils.io import OutputPathError, prepare_output_dir

NUM_CLASSES = 10
IMAGE_SIZE = 32
SPLITS = ('search_train', 'search_val', 'test')
FRACTIONS = (0.6, 0.2, 0.2)
CLASSES = tuple(str(i) for i in range(NUM_CLASSES))
_FORMAT_VERSION = 1


@dataclass
class DemoData:
    """What :func:`build_demo_data` produced or found.

    Attributes:
        root (str): The dataset directory.
        counts (dict): Number of samples per annotation file
            (``search_train``, ``search_val``, ``test``, ``train``).
        built (bool): False when a complete dataset was already there.
        removed (list[str]): Temporaries of killed builds removed.
    """
    root: str
    counts: Dict[str, int] = field(default_factory=dict)
    built: bool = False
    removed: List[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: built or found, where, samples per file."""
        state = 'built' if self.built else 'already complete'
        counts = ', '.join(f'{k}={v}' for k, v in self.counts.items())
        removed = (f'; removed {len(self.removed)} temporary folder(s) of '
                   f'killed builds: {", ".join(self.removed)}'
                   if self.removed else '')
        return f'demo data {state}: {self.root} ({counts}){removed}'


def _temp_prefix(root: str, kind: str) -> str:
    """``.NAME.KIND-`` (``kind``: ``tmp`` or ``old``)."""
    return f'.{osp.basename(root)}.{kind}-'


def remove_stale_temporaries(root: str) -> List[str]:
    """Remove the temporary folders of killed builds of ``root``.

    A folder ``.NAME.tmp-HOST-PID-XXXX`` (or ``.old-``) is stale when HOST
    is this host and process PID is gone; one without host and PID (the
    form older versions wrote) always is. Builds running elsewhere or
    still running here are left alone.

    Returns:
        list[str]: The removed folders' names.
    """
    from densenas_mm.utils.processes import process_alive
    parent = osp.dirname(root)
    if not osp.isdir(parent):
        return []
    host = socket.gethostname()
    removed = []
    for name in sorted(os.listdir(parent)):
        kind = next((k for k in ('tmp', 'old')
                     if name.startswith(_temp_prefix(root, k))), None)
        path = osp.join(parent, name)
        if kind is None or not osp.isdir(path):
            continue
        rest = name[len(_temp_prefix(root, kind)):]
        owner = rest.rsplit('-', 2)
        if len(owner) == 3 and owner[1].isdigit():
            if owner[0] != host or process_alive(int(owner[1]), None):
                continue
        elif '-' in rest:
            continue  # not a name this module writes
        shutil.rmtree(path, ignore_errors=True)
        removed.append(name)
    return removed


def split_sizes(num: int,
                fractions: Sequence[float] = FRACTIONS) -> Tuple[int, ...]:
    """Sizes of the search-train / search-val / test parts of one class.

    Val and test get ``round(fraction * num)`` (half rounded up); train
    keeps the rest so that the sizes always add up to ``num``.

    Args:
        num (int): Samples of the class.
        fractions (Sequence[float]): Train, val and test fractions.

    Returns:
        tuple[int, int, int]: Train, val and test sizes.
    """
    val = int(fractions[1] * num + 0.5)
    test = int(fractions[2] * num + 0.5)
    return num - val - test, val, test


def _load_digits() -> Tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # slow import: only when used
    digits = load_digits()
    return digits.images, digits.target.astype(np.int64)


def assign_splits(targets: np.ndarray, seed: int = 0) -> Dict[str, List[int]]:
    """Sample indices of each split, sorted.

    Args:
        targets (np.ndarray): Label of every sample.
        seed (int): Seed of the per-class permutation.

    Returns:
        dict[str, list[int]]: Sorted sample indices per split name.
    """
    rng = np.random.RandomState(seed)
    parts: Dict[str, List[int]] = {name: [] for name in SPLITS}
    for label in range(NUM_CLASSES):
        idx = np.flatnonzero(targets == label)
        idx = idx[rng.permutation(len(idx))]
        n_train, n_val, _ = split_sizes(len(idx))
        parts['search_train'] += idx[:n_train].tolist()
        parts['search_val'] += idx[n_train:n_train + n_val].tolist()
        parts['test'] += idx[n_train + n_val:].tolist()
    return {name: sorted(ids) for name, ids in parts.items()}


def expected_counts(targets: Optional[np.ndarray] = None) -> Dict[str, int]:
    """Samples per annotation file of a complete demo dataset.

    Args:
        targets (np.ndarray, optional): Labels; loaded from scikit-learn
            when omitted.

    Returns:
        dict[str, int]: Counts for ``search_train``, ``search_val``,
        ``test`` and ``train``.
    """
    if targets is None:
        targets = _load_digits()[1]
    sizes = np.array([split_sizes(int(n)) for n in np.bincount(targets)])
    counts = dict(zip(SPLITS, (int(x) for x in sizes.sum(axis=0))))
    counts['train'] = counts['search_train'] + counts['search_val']
    return counts


def to_image(digit: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Turn one 8x8 digit (values 0..16) into a ``size`` x ``size`` x 3 image.

    Args:
        digit (np.ndarray): The 8x8 float image from ``load_digits``.
        size (int): Output side length.

    Returns:
        np.ndarray: uint8 image of shape (size, size, 3).
    """
    import cv2
    grey = np.clip(digit * (255.0 / 16.0), 0, 255).astype(np.uint8)
    grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def _image_path(index: int, label: int) -> str:
    return f'images/{label}/{index:04d}.png'


def verify_demo_data(root: str,
                     counts: Optional[Dict[str, int]] = None,
                     seed: Optional[int] = None) -> Optional[str]:
    """Check that ``root`` holds a complete demo dataset.

    Args:
        root (str): Dataset directory.
        counts (dict, optional): Expected counts (see
            :func:`expected_counts`); computed when omitted.
        seed (int, optional): If given, the dataset must have been built
            with this seed.

    Returns:
        str | None: None when complete, else what is wrong.
    """
    counts = counts or expected_counts()
    info_file = osp.join(root, 'meta', 'info.json')
    if not osp.isfile(info_file):
        return f'missing {info_file}'
    with open(info_file, encoding='utf-8') as f:
        info = json.load(f)
    if info.get('format_version') != _FORMAT_VERSION:
        return f'{info_file} has an unknown format version'
    if seed is not None and info.get('seed') != seed:
        return f'built with seed {info.get("seed")}, not {seed}'
    classes_file = osp.join(root, 'classes.txt')
    if not osp.isfile(classes_file):
        return f'missing {classes_file}'
    with open(classes_file, encoding='utf-8') as f:
        if tuple(f.read().split()) != CLASSES:
            return f'{classes_file} does not list the classes 0..9'
    for name, num in counts.items():
        ann = osp.join(root, 'meta', f'{name}.txt')
        if not osp.isfile(ann):
            return f'missing {ann}'
        with open(ann, encoding='utf-8') as f:
            lines = [line.split() for line in f if line.strip()]
        if len(lines) != num:
            return f'{ann} has {len(lines)} samples, expected {num}'
        for rel, label in lines:
            if not 0 <= int(label) < NUM_CLASSES:
                return f'{ann}: label {label} out of range'
            if name != 'train' and not osp.isfile(osp.join(root, rel)):
                return f'{ann} lists a missing image {rel}'
    return None


def _write_dataset(tmp: str, images: np.ndarray, targets: np.ndarray,
                   seed: int, progress: bool) -> Dict[str, int]:
    import cv2
    from mmengine.utils import ProgressBar
    splits = assign_splits(targets, seed)
    for label in range(NUM_CLASSES):
        os.makedirs(osp.join(tmp, 'images', str(label)))
    os.makedirs(osp.join(tmp, 'meta'))
    # Update the bar in chunks: without a tty every update prints a line.
    chunk = 100
    bar = ProgressBar(len(images)) if progress else None
    for index, (digit, label) in enumerate(zip(images, targets)):
        path = osp.join(tmp, _image_path(index, int(label)))
        if not cv2.imwrite(path, to_image(digit)):
            raise OSError(f'could not write {path}')
        done = index + 1
        if bar is not None and (done % chunk == 0 or done == len(images)):
            bar.update(done - bar.completed)
    if bar is not None:
        print()
    splits['train'] = sorted(splits['search_train'] + splits['search_val'])
    for name, ids in splits.items():
        with open(osp.join(tmp, 'meta', f'{name}.txt'), 'w') as f:
            for i in ids:
                f.write(f'{_image_path(i, int(targets[i]))} {targets[i]}\n')
    with open(osp.join(tmp, 'classes.txt'), 'w') as f:
        f.write('\n'.join(CLASSES) + '\n')
    counts = {name: len(ids) for name, ids in splits.items()}
    info = dict(
        format_version=_FORMAT_VERSION,
        source='sklearn.datasets.load_digits',
        seed=seed,
        fractions=dict(zip(SPLITS, FRACTIONS)),
        image_size=IMAGE_SIZE,
        counts=counts)
    with open(osp.join(tmp, 'meta', 'info.json'), 'w') as f:
        json.dump(info, f, indent=2)
    return counts


def build_demo_data(out_dir: str = 'data/demo_digits',
                    seed: int = 0,
                    force: bool = False,
                    progress: bool = True) -> DemoData:
    """Build the digits demo dataset at ``out_dir`` (see module docstring).

    Args:
        out_dir (str): Target directory; its parent is created if needed.
        seed (int): Seed of the per-class split. Defaults to 0.
        force (bool): Rebuild even if ``out_dir`` exists. Without it an
            existing complete dataset is kept and an incomplete or different
            one is an error. Defaults to False.
        progress (bool): Show an mmengine progress bar. Defaults to True.

    Returns:
        DemoData: Root, counts per annotation file and whether it was built.

    Raises:
        FileExistsError: ``out_dir`` exists but is not a complete demo
            dataset built with ``seed`` (and ``force`` is False).
        OutputPathError: ``out_dir`` (or a parent) is an existing file.
    """
    root = osp.abspath(out_dir)
    if osp.exists(root) and not osp.isdir(root):
        raise OutputPathError(
            f'demo data directory {out_dir!r} is an existing file, not a '
            'directory; pass another --out or move the file away')
    prepare_output_dir(osp.dirname(root), f'the folder of {out_dir!r}')
    removed = remove_stale_temporaries(root)
    images, targets = _load_digits()
    counts = expected_counts(targets)
    if osp.isdir(root) and not os.listdir(root):
        os.rmdir(root)  # an empty directory is as good as none
    if osp.exists(root) and not force:
        problem = verify_demo_data(root, counts, seed)
        if problem is None:
            return DemoData(root, counts, built=False, removed=removed)
        raise FileExistsError(
            f'{root} exists but is not a complete demo dataset ({problem}). '
            'Remove it or rebuild with force=True (--force).')
    parent = osp.dirname(root)
    os.makedirs(parent, exist_ok=True)
    owner = f'{socket.gethostname()}-{os.getpid()}-'
    tmp = tempfile.mkdtemp(
        prefix=_temp_prefix(root, 'tmp') + owner, dir=parent)
    try:
        written = _write_dataset(tmp, images, targets, seed, progress)
        assert written == counts, (written, counts)
        if force and osp.exists(root):
            trash = tempfile.mkdtemp(
                prefix=_temp_prefix(root, 'old') + owner, dir=parent)
            os.rename(root, osp.join(trash, 'old'))
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.rename(tmp, root)
        except OSError:
            # Another process finished first: keep its (identical) result.
            if verify_demo_data(root, counts, seed) is not None:
                raise
            return DemoData(root, counts, built=False, removed=removed)
    finally:
        if osp.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return DemoData(root, counts, built=True, removed=removed)
