"""Fashion-MNIST from its idx files, split the way the DenseNAS search needs.

Fashion-MNIST (Xiao et al. 2017, MIT licence): 70,000 28x28 grey images of
10 clothing classes, 60,000 for training and 10,000 for testing. Debian
ships it as ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist/``,
four gzipped idx files); ``make env`` installs it where apt is available.

:class:`FashionMNISTSplit` reads the idx arrays directly (no conversion to
PNGs, no download) and serves a deterministic, class-balanced subset:

- ``search_train`` / ``search_val``: disjoint parts of the *training*
  images (the reference splits ImageNet's training images 80/20 the same
  way); ``train`` is their union (retraining a derived net);
- ``test``: the test images, used only for the final evaluation.

Per class, the training images are permuted by a generator seeded with
``seed``; search-train takes the first ``per_class['search_train']``,
search-val the next ``per_class['search_val']``. The test subset takes the
first ``per_class['test']`` of each class after its own permutation. Images
are zero-padded to ``pad_to`` x ``pad_to`` (32 by default, so the spaces of
32x32 inputs apply) and served as ``H x W`` uint8 arrays, or ``H x W x 3``
(the grey channel repeated) with ``channels=3`` for spaces and models made
for RGB input.
"""
import gzip
import os.path as osp
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmcls.datasets import BaseDataset

from densenas_mm.registry import DATASETS
from .checks import DataError

FASHION_MNIST_ROOT = '/usr/share/datasets/fashion-mnist'
FASHION_MNIST_CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress',
                         'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
                         'Ankle boot')
FILES = dict(
    train=('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    test=('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'))
SPLITS = ('search_train', 'search_val', 'train', 'test')
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: '>i2', 0x0C: '>i4',
           0x0D: '>f4', 0x0E: '>f8'}


class IdxError(DataError):
    """An idx file is missing, truncated or not what it should be (a
    :class:`~.checks.DataError`: the tools report it as one ``error:``
    line)."""


def read_idx(path: str) -> np.ndarray:
    """Read an idx file (gzipped or not) into an array.

    Args:
        path (str): ``*-idx3-ubyte[.gz]`` or ``*-idx1-ubyte[.gz]``.

    Raises:
        IdxError: Naming the file and what is wrong with it.
    """
    if not osp.isfile(path):
        raise IdxError(f'{path} does not exist')
    opener = gzip.open if path.endswith('.gz') else open
    try:
        with opener(path, 'rb') as f:
            data = f.read()
    except (OSError, EOFError) as err:
        raise IdxError(f'{path}: cannot read it ({err}); the file is '
                       'truncated or corrupt, reinstall it') from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in \
            _DTYPES:
        raise IdxError(f'{path} is not an idx file (bad magic number)')
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f'{path}: truncated header')
    shape = tuple(
        int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    dtype = np.dtype(_DTYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise IdxError(f'{path}: {len(data) - header} bytes of data for '
                       f'shape {shape} ({expected} expected); the file is '
                       'truncated or corrupt')
    return np.frombuffer(data, dtype, offset=header).reshape(shape)


@lru_cache(maxsize=4)
def load_part(root: str, part: str) -> Tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) and labels (N,) of ``part`` ('train' or 'test')."""
    images = read_idx(osp.join(root, FILES[part][0]))
    labels = read_idx(osp.join(root, FILES[part][1])).astype(np.int64)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise IdxError(f'{root}: {part} images {images.shape} and labels '
                       f'{labels.shape} do not match')
    if labels.min() < 0 or labels.max() >= len(FASHION_MNIST_CLASSES):
        raise IdxError(f'{root}: {part} labels outside 0..9')
    return images, labels


def split_indices(labels: np.ndarray, sizes: Sequence[int],
                  seed: int) -> List[np.ndarray]:
    """Disjoint, class-balanced index sets, sorted.

    Args:
        labels (np.ndarray): Label of every image.
        sizes (Sequence[int]): Images per class of each set, in order.
        seed (int): Seed of the per-class permutation.

    Raises:
        DataError: If a class has fewer images than the sets need.
    """
    rng = np.random.RandomState(seed)
    parts: List[List[int]] = [[] for _ in sizes]
    for label in range(int(labels.max()) + 1):
        idx = np.flatnonzero(labels == label)
        idx = idx[rng.permutation(len(idx))]
        if sum(sizes) > len(idx):
            raise DataError(
                f'class {label} has {len(idx)} images, fewer than the '
                f'{sum(sizes)} per class asked for ({list(sizes)}); lower '
                'per_class')
        start = 0
        for k, n in enumerate(sizes):
            parts[k] += idx[start:start + n].tolist()
            start += n
    return [np.array(sorted(p), dtype=np.int64) for p in parts]


def pad_images(images: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad ``(N, h, w)`` images symmetrically to ``size`` x ``size``."""
    h, w = images.shape[1:]
    if size < max(h, w):
        raise ValueError(f'pad_to={size} is smaller than the images '
                         f'({h}x{w})')
    top, left = (size - h) // 2, (size - w) // 2
    out = np.zeros((len(images), size, size), dtype=images.dtype)
    out[:, top:top + h, left:left + w] = images
    return out


@DATASETS.register_module()
class FashionMNISTSplit(BaseDataset):
    """A deterministic, class-balanced split of Fashion-MNIST (see module).

    Args:
        split (str): ``'search_train'``, ``'search_val'``, ``'train'``
            (search-train + search-val) or ``'test'``.
        data_root (str): Folder with the four gzipped idx files.
        per_class (dict): Images per class of ``search_train``,
            ``search_val`` and ``test``. Defaults to 200 / 50 / 100.
        seed (int): Seed of the per-class permutations. Defaults to 0.
        pad_to (int): Side of the served images. Defaults to 32.
        channels (int): 1 (grey) or 3 (the grey channel repeated).
        **kwargs: Passed to mmcls's ``BaseDataset`` (``pipeline``, ...).

    Example:
        >>> dataset = dict(type='densenas_mm.FashionMNISTSplit',
        ...                split='search_val', per_class=dict(
        ...                    search_train=200, search_val=50, test=100),
        ...                pipeline=[dict(type='PackClsInputs')])
    """

    METAINFO = {'classes': FASHION_MNIST_CLASSES}

    def __init__(self,
                 split: str = 'search_train',
                 data_root: str = FASHION_MNIST_ROOT,
                 per_class: Optional[Dict[str, int]] = None,
                 seed: int = 0,
                 pad_to: int = 32,
                 channels: int = 1,
                 **kwargs) -> None:
        if channels not in (1, 3):
            raise ValueError(f'channels must be 1 or 3, got {channels!r}')
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        sizes = dict(search_train=200, search_val=50, test=100)
        sizes.update(per_class or {})
        bad = [v for v in sizes.values() if not isinstance(v, int) or v < 1]
        unknown = sorted(set(sizes) - {'search_train', 'search_val', 'test'})
        if unknown or bad:
            raise ValueError(
                'per_class takes search_train, search_val and test, each an '
                f'int >= 1; got {dict(sizes)}')
        self.split = split
        self.sizes = sizes
        self.seed = int(seed)
        self.pad_to = int(pad_to)
        self.channels = channels
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Images and labels of the split (names the problem if the files
        are missing or broken)."""
        root = self.data_root
        if not osp.isdir(root):
            raise IdxError(
                f'Fashion-MNIST not found at {root}: install it with '
                '`apt-get install dataset-fashion-mnist` (make env does) or '
                'set data_root to a folder with the four idx .gz files')
        part = 'test' if self.split == 'test' else 'train'
        images, labels = load_part(root, part)
        if part == 'test':
            [index] = split_indices(labels, [self.sizes['test']], self.seed)
        else:
            search_train, search_val = split_indices(
                labels,
                [self.sizes['search_train'], self.sizes['search_val']],
                self.seed)
            index = dict(
                search_train=search_train,
                search_val=search_val,
                train=np.union1d(search_train, search_val))[self.split]
        padded = pad_images(images[index], self.pad_to)
        if self.channels == 3:
            padded = np.repeat(padded[..., None], 3, axis=-1)
        return [
            dict(img=img, gt_label=int(labels[i]), source_index=int(i))
            for img, i in zip(padded, index)
        ]
