"""The generic class-folder split: the ImageNet-N split is one use of it,
fractions and unions are checked, every part gets every class."""
import os
import os.path as osp

import pytest

from densenas_mm.datasets import (SubsetError, make_imagenet_subset,
                                  split_class_folders)
from densenas_mm.datasets.class_folders import split_files


def _tree(root, classes=5, per_class=9):
    for c in range(classes):
        os.makedirs(osp.join(root, f'n{c:03d}'))
        for i in range(per_class + c):
            open(osp.join(root, f'n{c:03d}', f'{i}.JPEG'), 'wb').close()


def _read(path):
    with open(path) as f:
        return f.read()


@pytest.mark.parametrize('seed', [None, 4])
def test_imagenet_subset_is_the_generic_split(tmp_path, seed):
    root = str(tmp_path / 'train')
    _tree(root)
    a = make_imagenet_subset(root, str(tmp_path / 'a'), num_classes=3,
                             seed=seed, split=0.8)
    b = split_class_folders(root, str(tmp_path / 'b'), num_classes=3,
                            seed=seed, parts=dict(search_train=0.8,
                                                  search_val=0.2))
    assert b == dict(a, train=a['search_train'] + a['search_val'])
    for name in ('search_train.txt', 'search_val.txt', 'classes.txt'):
        assert _read(tmp_path / 'a' / name) == _read(tmp_path / 'b' / name)
    assert not osp.exists(tmp_path / 'a' / 'train.txt')


def test_three_parts_per_class(tmp_path):
    # 10 files: 6 / 2 / 2; 3 files: one each (every part non-empty)
    parts = dict(search_train=0.6, search_val=0.2, test=0.2)
    counts = {k: len(v) for k, v in split_files(
        [f'{i}.png' for i in range(10)], parts, 0, 'a').items()}
    assert counts == dict(search_train=6, search_val=2, test=2)
    counts = {k: len(v) for k, v in split_files(
        ['a.png', 'b.png', 'c.png'], parts, 0, 'a').items()}
    assert counts == dict(search_train=1, search_val=1, test=1)


@pytest.mark.parametrize('parts, unions, message', [
    (dict(a=0.5, b=0.4), None, 'must sum to 1'),
    (dict(a=1.2, b=-0.2), None, r'must be in \(0, 1\]'),
    (dict(a=0.5, b=0.5), dict(c=('a', 'x')), "union 'c' must combine"),
])
def test_bad_parts_are_refused(tmp_path, parts, unions, message):
    _tree(str(tmp_path / 'r'))
    with pytest.raises(SubsetError, match=message):
        split_class_folders(str(tmp_path / 'r'), str(tmp_path / 'o'),
                            parts=parts, unions=unions)


def test_too_few_images_for_the_parts(tmp_path):
    root = tmp_path / 'r'
    (root / 'cat').mkdir(parents=True)
    (root / 'cat' / 'x.png').write_bytes(b'')
    (root / 'cat' / 'y.png').write_bytes(b'')
    with pytest.raises(SubsetError, match=r"has 2 image\(s\); at least 3"):
        split_class_folders(str(root), str(root / 'meta'))
