"""Demo data: split sizes, image format, labels, idempotence, atomicity."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from densenas_mm.datasets import (build_demo_data, expected_counts,
                                  verify_demo_data)
from densenas_mm.datasets.demo_data import split_sizes

# load_digits: 1797 images, per class 178 182 177 183 181 182 181 179 174 180
COUNTS = dict(search_train=1079, search_val=359, test=359, train=1438)


def _read(root, name):
    with open(osp.join(root, 'meta', f'{name}.txt')) as f:
        return [(p, int(label)) for p, label in (line.split() for line in f)]


def test_split_sizes_add_up():
    assert split_sizes(178) == (106, 36, 36)
    assert split_sizes(174) == (104, 35, 35)
    for n in range(2, 300):
        assert sum(split_sizes(n)) == n


def test_counts_per_split(demo_data_root):
    assert expected_counts() == COUNTS
    for name, num in COUNTS.items():
        assert len(_read(demo_data_root, name)) == num
    n_png = sum(
        len(files)
        for _, _, files in os.walk(osp.join(demo_data_root, 'images')))
    assert n_png == 1797


def test_splits_are_disjoint_and_stratified(demo_data_root):
    parts = {n: _read(demo_data_root, n) for n in COUNTS}
    paths = {n: {p for p, _ in lines} for n, lines in parts.items()}
    assert not paths['search_train'] & paths['search_val']
    assert not paths['search_train'] & paths['test']
    assert not paths['search_val'] & paths['test']
    assert paths['train'] == paths['search_train'] | paths['search_val']
    test_per_class = np.bincount([label for _, label in parts['test']])
    # 20 % of 174..183 images per class
    assert test_per_class.min() == 35 and test_per_class.max() == 37
    # lines are in sample order, so any prefix mixes classes
    assert len({label for _, label in parts['test'][:20]}) >= 8


def test_images_and_labels(demo_data_root):
    lines = _read(demo_data_root, 'train')
    assert {label for _, label in lines} == set(range(10))
    for rel, label in lines[:50]:
        assert rel.startswith(f'images/{label}/')
        img = cv2.imread(osp.join(demo_data_root, rel), cv2.IMREAD_UNCHANGED)
        assert img.shape == (32, 32, 3) and img.dtype == np.uint8
        assert (img[..., 0] == img[..., 2]).all()  # grey in 3 channels
        assert img.max() > 100  # a drawn digit, not an empty image
    with open(osp.join(demo_data_root, 'classes.txt')) as f:
        assert f.read().split() == [str(i) for i in range(10)]


def test_mmcls_custom_dataset_reads_it(demo_data_root):
    from mmcls.datasets import CustomDataset
    ds = CustomDataset(
        data_root=demo_data_root,
        ann_file='meta/search_val.txt',
        data_prefix='',
        pipeline=[dict(type='LoadImageFromFile', _scope_='mmcls')])
    assert len(ds) == COUNTS['search_val']
    sample = ds[0]
    assert sample['img'].shape == (32, 32, 3)
    assert 0 <= sample['gt_label'] < 10


def test_idempotent_and_deterministic(demo_data_root, tmp_path):
    ann = osp.join(demo_data_root, 'meta', 'test.txt')
    mtime = os.stat(ann).st_mtime_ns
    again = build_demo_data(demo_data_root, progress=False)
    assert not again.built
    assert again.counts == COUNTS
    assert os.stat(ann).st_mtime_ns == mtime
    other = build_demo_data(str(tmp_path / 'copy'), progress=False)
    assert other.built
    for name in COUNTS:
        assert _read(other.root, name) == _read(demo_data_root, name)
    # no temporary directories left behind
    assert sorted(os.listdir(tmp_path)) == ['copy']


def test_incomplete_dataset_is_refused_then_rebuilt(tmp_path):
    root = build_demo_data(str(tmp_path / 'dd'), progress=False).root
    os.remove(osp.join(root, 'images', '3', '0003.png'))
    problem = verify_demo_data(root)
    assert problem is not None and '0003.png' in problem
    with pytest.raises(FileExistsError, match='not a complete demo dataset'):
        build_demo_data(root, progress=False)
    rebuilt = build_demo_data(root, force=True, progress=False)
    assert rebuilt.built and verify_demo_data(root) is None
    with pytest.raises(FileExistsError, match='seed'):
        build_demo_data(root, seed=1, progress=False)


def test_killed_build_leaves_a_temporary_the_next_build_removes(tmp_path):
    """A real build killed with SIGKILL leaves .dd.tmp-HOST-PID-XXXX; the next
    build removes it (and an old-style one), but not the temporary of a
    live build here or of a build on another host."""
    import signal
    import socket
    import subprocess
    import sys
    import time
    root = tmp_path / 'dd'
    code = ('from densenas_mm.datasets.demo_data import build_demo_data; '
            f'build_demo_data({str(root)!r}, progress=False)')
    proc = subprocess.Popen([sys.executable, '-c', code])
    prefix = f'.dd.tmp-{socket.gethostname()}-{proc.pid}-'
    killed = None
    for _ in range(1200):
        names = [n for n in os.listdir(tmp_path) if n.startswith(prefix)]
        if names and os.listdir(tmp_path / names[0]):
            proc.send_signal(signal.SIGKILL)
            killed = names[0]
            break
        time.sleep(0.05)
    proc.wait(60)
    assert killed and (tmp_path / killed).is_dir() and not root.exists()
    legacy = tmp_path / '.dd.tmp-abc123xy'
    live = tmp_path / f'.dd.tmp-{socket.gethostname()}-{os.getpid()}-aaaa1111'
    elsewhere = tmp_path / '.dd.tmp-other-node-7-12345-bbbb2222'
    for folder in (legacy, live, elsewhere):
        folder.mkdir()
    data = build_demo_data(str(root), progress=False)
    assert data.built and sorted(data.removed) == sorted(
        [killed, legacy.name])
    assert 'removed 2 temporary folder(s) of killed builds' in data.summary()
    assert sorted(os.listdir(tmp_path)) == sorted(['dd', live.name,
                                                   elsewhere.name])
    # a rerun that finds the dataset complete cleans up too
    legacy.mkdir()
    again = build_demo_data(str(root), progress=False)
    assert not again.built and again.removed == [legacy.name]
