"""Fashion-MNIST from idx files: reading, splits, padding, the registry.

The idx files here are written by the test in the real format (a small
synthetic set), so the checks run whether or not the Debian package is
installed; one test reads the installed files when they are there.
"""
import gzip
import os.path as osp

import numpy as np
import pytest

from densenas_mm.datasets.checks import DataError
from densenas_mm.datasets.fashion_mnist import (FASHION_MNIST_ROOT, FILES,
                                                FashionMNISTSplit, IdxError,
                                                load_part, read_idx)
from densenas_mm.registry import DATASETS

PER_CLASS = dict(search_train=6, search_val=2, test=3)


def write_idx(path, array):
    """An idx file: magic (0, 0, dtype 0x08, ndim), big-endian dims, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b''.join(
        int(d).to_bytes(4, 'big') for d in array.shape)
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'wb') as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def idx_root(tmp_path):
    """10 classes, 12 training and 5 test images each; image k of class c
    has every pixel = 10 * c + (k % 10)."""
    rng = np.random.RandomState(0)
    for part, per in (('train', 12), ('test', 5)):
        labels = np.repeat(np.arange(10), per)
        rng.shuffle(labels)
        images = np.zeros((len(labels), 28, 28), dtype=np.uint8)
        for i, c in enumerate(labels):
            images[i] = 10 * c + (i % 10)
        write_idx(str(tmp_path / FILES[part][0]), images)
        write_idx(str(tmp_path / FILES[part][1]), labels)
    load_part.cache_clear()
    return str(tmp_path)


def build(root, split, **kwargs):
    return DATASETS.build(
        dict(
            type='densenas_mm.FashionMNISTSplit',
            data_root=root,
            split=split,
            per_class=PER_CLASS,
            **kwargs))


def test_read_idx_round_trip(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    for name in ('a-idx3-ubyte', 'a-idx3-ubyte.gz'):
        write_idx(str(tmp_path / name), arr)
        np.testing.assert_array_equal(read_idx(str(tmp_path / name)), arr)


def test_broken_idx_files_are_named(tmp_path):
    with pytest.raises(IdxError, match='does not exist'):
        read_idx(str(tmp_path / 'missing.gz'))
    bad = tmp_path / 'bad-idx1-ubyte'
    bad.write_bytes(b'\x01\x02\x03\x04rest')
    with pytest.raises(IdxError, match='bad magic number'):
        read_idx(str(bad))
    arr = np.zeros((4, 5), dtype=np.uint8)
    cut = tmp_path / 'cut-idx2-ubyte'
    write_idx(str(cut), arr)
    cut.write_bytes(cut.read_bytes()[:-3])
    with pytest.raises(IdxError, match='truncated or corrupt'):
        read_idx(str(cut))
    zipped = tmp_path / 'zipped.gz'
    write_idx(str(zipped), arr)
    zipped.write_bytes(zipped.read_bytes()[:15])
    with pytest.raises(IdxError, match='truncated or corrupt'):
        read_idx(str(zipped))


def test_splits_are_balanced_disjoint_and_deterministic(idx_root):
    train = build(idx_root, 'search_train')
    val = build(idx_root, 'search_val')
    union = build(idx_root, 'train')
    test = build(idx_root, 'test')
    assert (len(train), len(val), len(union), len(test)) == (60, 20, 80, 30)

    def sources(ds):
        return [ds.get_data_info(i)['source_index'] for i in range(len(ds))]

    def labels(ds):
        return [ds.get_data_info(i)['gt_label'] for i in range(len(ds))]

    assert not set(sources(train)) & set(sources(val))
    assert sorted(sources(train) + sources(val)) == sources(union)
    assert np.bincount(labels(train)).tolist() == [6] * 10
    assert np.bincount(labels(val)).tolist() == [2] * 10
    assert np.bincount(labels(test)).tolist() == [3] * 10
    # the same seed gives the same images; another seed other ones
    assert sources(build(idx_root, 'search_val')) == sources(val)
    assert sources(build(idx_root, 'search_val', seed=1)) != sources(val)
    # images keep their labels: pixel value // 10 is the class
    info = train.get_data_info(0)
    assert info['img'][16, 16] // 10 == info['gt_label']


def test_padding_channels_and_pipeline(idx_root):
    grey = build(idx_root, 'test')
    img = grey.get_data_info(0)['img']
    assert img.shape == (32, 32) and img.dtype == np.uint8
    assert img[:2].max() == 0 and img[:, :2].max() == 0  # 2-pixel border
    assert img[2:30, 2:30].min() == img[16, 16]
    rgb = build(idx_root, 'test', channels=3,
                pipeline=[dict(type='PackClsInputs')])
    sample = rgb[0]
    assert tuple(sample['inputs'].shape) == (3, 32, 32)
    assert int(sample['data_samples'].gt_label.label) == \
        rgb.get_data_info(0)['gt_label']
    assert rgb.metainfo['classes'][0] == 'T-shirt/top'


@pytest.mark.parametrize('kwargs,match', [
    (dict(split='validation'), 'split must be one of'),
    (dict(split='test', channels=2), 'channels must be 1 or 3'),
    (dict(split='test', per_class=dict(search_train=0)), 'per_class'),
    (dict(split='test', per_class=dict(tests=3)), 'per_class'),
])
def test_bad_arguments(idx_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        FashionMNISTSplit(data_root=idx_root, **kwargs)


def test_missing_data_and_too_small_classes(idx_root, tmp_path):
    # a DataError: the tools print it as one error line
    with pytest.raises(IdxError, match='apt-get install '
                       'dataset-fashion-mnist'):
        FashionMNISTSplit(data_root=str(tmp_path / 'nowhere'))
    with pytest.raises(DataError, match='fewer than the 13 per class'):
        FashionMNISTSplit(
            data_root=idx_root,
            per_class=dict(search_train=12, search_val=1, test=1))


@pytest.mark.skipif(
    not osp.isfile(osp.join(FASHION_MNIST_ROOT, FILES['train'][0])),
    reason='dataset-fashion-mnist is not installed')
def test_the_installed_dataset():
    load_part.cache_clear()
    images, labels = load_part(FASHION_MNIST_ROOT, 'train')
    assert images.shape == (60000, 28, 28)
    assert np.bincount(labels).tolist() == [6000] * 10
    images, labels = load_part(FASHION_MNIST_ROOT, 'test')
    assert images.shape == (10000, 28, 28)
