"""ImageNet subset split on a fake tiny ImageNet tree."""
import os
import os.path as osp
import runpy
import sys

import numpy as np
import pytest
from PIL import Image

from densenas_mm.datasets import SubsetError, make_imagenet_subset

from helpers import REPO_ROOT
# class name -> number of images (n0 has 10, n1 11, ...)
N_CLASSES = 6


def _make_tree(root, sizes=None):
    sizes = sizes or {f'n{i:08d}': 10 + i for i in range(N_CLASSES)}
    rng = np.random.RandomState(0)
    for name, num in sizes.items():
        os.makedirs(osp.join(root, name))
        for j in range(num):
            pixels = rng.randint(0, 255, (4, 4, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(
                osp.join(root, name, f'{name}_{j}.JPEG'))
        # files that are not images are ignored
        with open(osp.join(root, name, 'notes.txt'), 'w') as f:
            f.write('x')
    os.makedirs(osp.join(root, '.cache'))  # hidden dirs are no classes
    return sizes


def _lines(out, name):
    with open(osp.join(out, name)) as f:
        return f.read().splitlines()


@pytest.fixture
def tree(tmp_path):
    root = str(tmp_path / 'train')
    return root, _make_tree(root)


def test_counts_and_format(tree, tmp_path):
    root, sizes = tree
    out = str(tmp_path / 'out')
    counts = make_imagenet_subset(root, out, num_classes=4)
    # first 4 classes in sorted order: 10, 11, 12, 13 images
    # search_train = int(0.8 * n): 8, 8, 9, 10
    assert counts == dict(search_train=35, search_val=11)
    classes = _lines(out, 'classes.txt')
    assert classes == sorted(sizes)[:4]
    train, val = _lines(out, 'search_train.txt'), _lines(out, 'search_val.txt')
    assert len(train) == 35 and len(val) == 11
    for line in train + val:
        path, label = line.split()
        assert path.startswith(classes[int(label)] + '/')
        assert path.endswith('.JPEG')
        assert osp.isfile(osp.join(root, path))
    assert not {ln.split()[0] for ln in train} & {ln.split()[0] for ln in val}
    per_class = np.bincount([int(ln.split()[1]) for ln in val])
    assert per_class.tolist() == [2, 3, 3, 3]
    assert sorted(os.listdir(out)) == [
        'classes.txt', 'search_train.txt', 'search_val.txt'
    ]


def test_deterministic_and_seeded(tree, tmp_path):
    root, sizes = tree
    a, b, c = (str(tmp_path / x) for x in 'abc')
    make_imagenet_subset(root, a, num_classes=3, seed=5)
    make_imagenet_subset(root, b, num_classes=3, seed=5)
    make_imagenet_subset(root, c, num_classes=3, seed=6)
    for name in ('classes.txt', 'search_train.txt', 'search_val.txt'):
        assert _lines(a, name) == _lines(b, name)
    seeded = _lines(a, 'classes.txt')
    assert seeded == sorted(seeded) and set(seeded) <= set(sizes)
    assert (_lines(a, 'search_val.txt') != _lines(c, 'search_val.txt'))


def test_split_fraction(tree, tmp_path):
    root, _ = tree
    counts = make_imagenet_subset(
        root, str(tmp_path / 'o'), num_classes=2, split=0.5)
    assert counts == dict(search_train=5 + 5, search_val=5 + 6)


@pytest.mark.parametrize('kwargs, message', [
    (dict(num_classes=7), 'found 6 class folders, but 7 classes'),
    (dict(num_classes=0), 'num_classes must be >= 1'),
    (dict(num_classes=2, split=1.0), 'split must be in'),
])
def test_bad_requests(tree, tmp_path, kwargs, message):
    root, _ = tree
    with pytest.raises(SubsetError, match=message):
        make_imagenet_subset(root, str(tmp_path / 'o'), **kwargs)
    assert not osp.exists(tmp_path / 'o' / 'search_train.txt')


def test_missing_dir_and_file_instead_of_dir(tmp_path):
    with pytest.raises(SubsetError, match='does not exist'):
        make_imagenet_subset(str(tmp_path / 'nope'), str(tmp_path / 'o'))
    (tmp_path / 'file').write_text('x')
    with pytest.raises(SubsetError, match='not a directory'):
        make_imagenet_subset(str(tmp_path / 'file'), str(tmp_path / 'o'))


def test_class_with_too_few_images(tmp_path):
    root = str(tmp_path / 'train')
    _make_tree(root, {'a': 3, 'b': 1, 'c': 4})
    with pytest.raises(SubsetError, match=r"/b' has 1 image"):
        make_imagenet_subset(root, str(tmp_path / 'o'), num_classes=3)


@pytest.mark.skipif(
    hasattr(os, 'geteuid') and os.geteuid() == 0,
    reason='root can read any directory')
def test_unreadable_dir(tree, tmp_path):
    root, _ = tree
    os.chmod(root, 0)
    try:
        with pytest.raises(SubsetError, match='not readable'):
            make_imagenet_subset(root, str(tmp_path / 'o'))
    finally:
        os.chmod(root, 0o755)


def test_cli_reports_errors(tmp_path, monkeypatch, capsys):
    """The CLI exits with 1 and a one-line message (run in-process)."""
    script = osp.join(REPO_ROOT, 'tools', 'dataset', 'make_imagenet_subset.py')
    argv = [
        script,
        str(tmp_path / 'missing'), '--out-dir',
        str(tmp_path / 'o'), '--num-classes', '2'
    ]
    monkeypatch.setattr(sys, 'argv', argv)
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(script, run_name='__main__')
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith('error: ImageNet train directory')
    assert 'does not exist' in err
