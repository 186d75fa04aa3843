"""Catalogue of data problems found when the dataset is built
(``densenas_mm.CheckedCustomDataset``), each named with its file."""
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

import densenas_mm  # noqa: F401
from densenas_mm.datasets import DataError, image_problem
from densenas_mm.registry import DATASETS
from helpers import REPO_ROOT

CLASSES = ('a', 'b', 'c')


def _png(path, size=8):
    cv2.imwrite(str(path), np.full((size, size, 3), 128, np.uint8))
    return path


def _jpeg(path, size=16):
    cv2.imwrite(str(path), np.random.RandomState(0).randint(
        0, 255, (size, size, 3), dtype=np.uint8))
    return path


@pytest.fixture
def root(tmp_path):
    (tmp_path / 'img').mkdir()
    for i in range(3):
        _png(tmp_path / 'img' / f'{i}.png')
    _jpeg(tmp_path / 'img' / 'j.jpg')
    (tmp_path / 'ann.txt').write_text(
        'img/0.png 0\nimg/1.png 1\nimg/2.png 2\nimg/j.jpg 1\n')
    return tmp_path


def build(root, ann='ann.txt', **kwargs):
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('checked_dataset_tests', scope_name='mmcls')
    return DATASETS.build(
        dict(
            dict(
                type='densenas_mm.CheckedCustomDataset',
                data_root=str(root),
                ann_file=ann,
                data_prefix='',
                metainfo=dict(classes=CLASSES),
                pipeline=[]), **kwargs))


def test_a_good_list_builds(root):
    ds = build(root, check_images='decode')
    assert len(ds) == 4
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [d['gt_label'] for d in infos] == [0, 1, 2, 1]
    assert infos[3]['img_path'] == osp.join(str(root), 'img', 'j.jpg')


def _truncate(path, keep=0.5):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * keep)])


def _corrupt_body(path):
    """Garbage inside the PNG, signature and IEND chunk kept."""
    data = bytearray(open(path, 'rb').read())
    for i in range(16, len(data) - 12):
        data[i] = 0x55
    open(path, 'wb').write(bytes(data))


# (id, how to break the data, build kwargs, message fragments)
CASES = [
    ('empty_annotation_file', lambda r: (r / 'ann.txt').write_text(''), {},
     ['lists no samples (it is empty)', 'ann.txt']),
    ('blank_annotation_file', lambda r: (r / 'ann.txt').write_text('\n\n'),
     {}, ['lists no samples']),
    ('missing_annotation_file', lambda r: (r / 'ann.txt').unlink(), {},
     ['ann.txt', 'does not exist', 'data_root / ann_file']),
    ('line_without_label', lambda r: (r / 'ann.txt').write_text(
        'img/0.png\n'), {}, ['line 1: expected "relative/path LABEL"']),
    ('label_not_an_int', lambda r: (r / 'ann.txt').write_text(
        'img/0.png 0\nimg/1.png one\n'), {}, ['line 2', "'img/1.png one'"]),
    ('label_out_of_range', lambda r: (r / 'ann.txt').write_text(
        'img/0.png 3\n'), {}, ['line 1: label 3 is out of range',
                               '3 classes: 0..2']),
    ('negative_label', lambda r: (r / 'ann.txt').write_text(
        'img/0.png -1\n'), {}, ['label -1 is out of range']),
    ('missing_image', lambda r: (r / 'img' / '1.png').unlink(), {},
     ['1 of 4 images', '1.png: missing']),
    ('empty_image', lambda r: (r / 'img' / '2.png').write_bytes(b''), {},
     ['2.png: empty (0 bytes)']),
    ('truncated_png', lambda r: _truncate(r / 'img' / '0.png'), {},
     ['0.png: truncated PNG (no IEND chunk)']),
    ('truncated_jpeg', lambda r: _truncate(r / 'img' / 'j.jpg'), {},
     ['j.jpg: truncated JPEG (no end-of-image marker)']),
    ('not_an_image', lambda r: (r / 'img' / '0.png').write_text('hello'), {},
     ["0.png: not an image (starts with b'hello')"]),
    ('undecodable_png', lambda r: _corrupt_body(r / 'img' / '1.png'),
     dict(check_images='decode'), ['1.png: cannot be decoded as png']),
    ('several_bad_images', lambda r: [(r / 'img' / f'{i}.png').unlink()
                                      for i in range(3)], {},
     ['3 of 4 images', 'Replace or remove them']),
    ('bad_check_mode', lambda r: None, dict(check_images='full'),
     ["check_images must be one of ('none', 'exists', 'header', 'decode')"]),
]


@pytest.mark.parametrize(
    'damage, kwargs, fragments', [c[1:] for c in CASES],
    ids=[c[0] for c in CASES])
def test_data_problem_is_named_at_build(root, damage, kwargs, fragments):
    damage(root)
    with pytest.raises(DataError) as err:
        build(root, **kwargs)
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)


def test_header_check_passes_what_decode_finds(root):
    """'header' reads two small chunks per image; only 'decode' finds a
    damaged body with intact signature and end chunk."""
    _corrupt_body(root / 'img' / '1.png')
    assert len(build(root)) == 4
    assert image_problem(str(root / 'img' / '1.png'), 'header') is None
    assert 'cannot be decoded' in image_problem(
        str(root / 'img' / '1.png'), 'decode')


def test_no_check_builds_a_damaged_list(root):
    (root / 'img' / '1.png').unlink()
    assert len(build(root, check_images='none')) == 4


def test_demo_configs_use_the_checked_dataset(demo_data_root, monkeypatch):
    monkeypatch.setenv('DENSENAS_DEMO_DATA', demo_data_root)
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs/_base_/datasets/demo_digits.py'))
    assert cfg.dataset_type == 'densenas_mm.CheckedCustomDataset'
    ds = DATASETS.build(cfg.search_val_dataloader.dataset)
    assert len(ds) == 359
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs/_base_/datasets/imagenet100_search.py'))
    # the search loaders wrap it in the seeded dataset (resumable crops)
    search_train = cfg.search_train_dataloader.dataset
    assert search_train.type == 'densenas_mm.SeededDataset'
    assert search_train.dataset_type == 'densenas_mm.CheckedCustomDataset'


def test_corrupt_image_data_is_named_when_first_read(root):
    """Header and IEND fine, data garbage: passes the default check, and
    the first read names the file (not the pipeline's "failed to load
    image")."""
    _corrupt_body(root / 'img' / '1.png')
    ds = build(root, pipeline=[dict(type='LoadImageFromFile')])
    assert ds[0]['img'].shape == (8, 8, 3)
    bad = osp.join(str(root), 'img', '1.png')
    with pytest.raises(DataError) as err:
        ds[1]
    message = str(err.value)
    assert message.startswith(f'image {bad!r} (sample 1 of ')
    assert 'cannot be decoded as png' in message
    assert "check_images='decode'" in message


def test_corrupt_image_in_a_loader_worker_is_one_error_line(root, capsys):
    """Raised in a DataLoader worker, the tools still print the message
    alone on one line (not the worker's traceback)."""
    from torch.utils.data import DataLoader

    from densenas_mm.apis.cli import run_cli
    _corrupt_body(root / 'img' / '2.png')
    ds = build(root, pipeline=[dict(type='LoadImageFromFile')])
    loader = DataLoader(ds, batch_size=4, num_workers=1,
                        collate_fn=lambda batch: batch)
    assert run_cli(lambda: next(iter(loader))) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and 'Traceback' not in err, err
    bad = osp.join(str(root), 'img', '2.png')
    assert lines[0].startswith(f'error: image {bad!r} (sample 2 of ')
    assert lines[0].endswith('(in DataLoader worker process 0)')


def test_every_label_identical_warns(root):
    from densenas_mm.datasets.checks import DataWarning
    (root / 'ann.txt').write_text(
        'img/0.png 0\nimg/1.png 0\nimg/2.png 0\nimg/j.jpg 0\n')
    with pytest.warns(DataWarning, match=r'all 4 labels of .*ann.txt.* are '
                      'class 0: a classifier trained on it learns nothing'):
        ds = build(root)
    assert len(ds) == 4


def test_two_classes_do_not_warn(root, recwarn):
    from densenas_mm.datasets.checks import DataWarning
    build(root)
    assert not [w for w in recwarn if issubclass(w.category, DataWarning)]
