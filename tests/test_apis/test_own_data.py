"""Search on your own data: the own-data template configured by its one
variable, the class-folder split, and the build-time consistency checks.

A 3-class folder of 48x48 PNGs (another class count and size than the
demo) is split with ``tools/dataset/split_class_folders.py``, searched for
3 epochs (1 warm-up + 2 search, set with the two length knobs alone) with
``tools/train.py`` through the real registries, which writes ``best.yaml``;
each mismatch (head classes, top-k, one 64x64 image, a table for another
size, an architecture of another class count) fails before training with a
message that names the fix.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import yaml
from mmengine.config import Config

from densenas_mm.apis.launch import merge_train_options, run_train
from densenas_mm.apis.model_io import load_config
from densenas_mm.apis.run_checks import RunConfigError, check_run_config
from densenas_mm.datasets import DataError, scan_sizes, split_class_folders
from densenas_mm.search_space import search_space_from_cfg
from densenas_mm.structures import DerivedArch
from densenas_mm.structures.errors import ArchError

from helpers import REPO_ROOT
from helpers.estimators import synthetic_table
from helpers.tools import load_tool

SEARCH = osp.join(REPO_ROOT, 'configs', 'densenas',
                  'densenas_supernet-demo_1xb32-20e_owndata.py')
SUBNET = osp.join(REPO_ROOT, 'configs', 'densenas', 'subnets',
                  'densenas_subnet-demo_1xb32-12e_owndata.py')
CLASSES = ('cat', 'dog', 'fox')
PER_CLASS = 10
SIZE = 48
FAST = ('train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'train_cfg.arch_dataloader.num_workers=0',
        'model.estimator.target_device=None')


def _write_images(root: str, size: int = SIZE) -> None:
    rng = np.random.default_rng(0)
    for label, name in enumerate(CLASSES):
        os.makedirs(osp.join(root, name), exist_ok=True)
        for i in range(PER_CLASS):
            img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            img[..., label] += 150  # one colour per class
            cv2.imwrite(osp.join(root, name, f'{i:02d}.png'), img)


def _options(root: str, lut: str, *extra: str) -> dict:
    opts = {}
    for item in (f'own_data.data_root={root}', f'own_data.input_size={SIZE}',
                 f'model.estimator.lut={lut}', *FAST, *extra):
        key, value = item.split('=', 1)
        opts[key] = yaml.safe_load(value) if value != 'None' else None
    return opts


@pytest.fixture(scope='module')
def own(tmp_path_factory):
    """The image folder, its lists and a table for the derived space."""
    tmp = tmp_path_factory.mktemp('own')
    root = str(tmp / 'images')
    _write_images(root)
    split = subprocess.run(
        [sys.executable, 'tools/dataset/split_class_folders.py', root],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert split.returncode == 0, split.stderr
    cfg = load_config(SEARCH, {'own_data.data_root': root,
                               'own_data.input_size': SIZE})
    space = search_space_from_cfg(cfg)
    lut = str(tmp / 'densenas_own_48.json')
    synthetic_table(space).save(lut)
    return dict(root=root, lut=lut, tmp=tmp, space=space)


def test_split_lists_and_classes(own):
    meta = osp.join(own['root'], 'meta')
    with open(osp.join(meta, 'classes.txt')) as f:
        assert f.read().split() == list(CLASSES)
    counts = {}
    for part in ('search_train', 'search_val', 'test', 'train'):
        with open(osp.join(meta, f'{part}.txt')) as f:
            lines = f.read().splitlines()
        counts[part] = len(lines)
        labels = [int(line.split()[1]) for line in lines]
        assert sorted(set(labels)) == [0, 1, 2]  # stratified: every class
    # 10 images per class: 6 / 2 / 2, train = search_train + search_val
    assert counts == dict(search_train=18, search_val=6, test=6, train=24)


def test_split_is_seeded_and_parts_are_disjoint(own, tmp_path):
    a = split_class_folders(own['root'], str(tmp_path / 'a'), seed=3,
                            parts=dict(x=0.5, y=0.3, z=0.2))
    b = split_class_folders(own['root'], str(tmp_path / 'b'), seed=3,
                            parts=dict(x=0.5, y=0.3, z=0.2))
    assert a == b == dict(x=15, y=9, z=6)
    seen = set()
    for part in 'xyz':
        with open(tmp_path / 'a' / f'{part}.txt') as f:
            files = {line.split()[0] for line in f}
        with open(tmp_path / 'b' / f'{part}.txt') as f:
            assert files == {line.split()[0] for line in f}
        assert not files & seen
        seen |= files
    assert len(seen) == 30


def test_one_variable_drives_the_run(own):
    """own_data set by --cfg-options reaches every derived key."""
    cfg = merge_train_options(
        Config.fromfile(SEARCH), SEARCH, cfg_options=_options(own['root'],
                                                          own['lut']))
    arch = cfg.model.architecture
    assert arch.head.num_classes == 3
    assert arch.backbone.search_space.num_classes == 3
    assert arch.backbone.search_space.input_size == SIZE
    # the demo space's strides kept: 16,8,8,4,4,4 at 32 -> x1.5 at 48
    assert arch.backbone.search_space.resolutions == [24, 12, 12, 6, 6, 6]
    assert arch.data_preprocessor.num_classes == 3
    assert tuple(cfg.val_evaluator.topk) == (1, 3)
    assert tuple(cfg.test_evaluator.topk) == (1, 3)
    for loader in (cfg.train_dataloader, cfg.val_dataloader,
                   cfg.test_dataloader, cfg.train_cfg.arch_dataloader):
        assert loader.dataset.data_root == own['root']
    assert cfg.train_dataloader.dataset.pipeline[1].crop_size == SIZE
    # the search length follows the two knobs
    assert cfg.train_cfg.max_epochs == 20 and cfg.train_cfg.val_begin == 11
    check_run_config(cfg)  # everything agrees
    sizes = scan_sizes([osp.join(own['root'], 'cat', '00.png')])
    assert list(sizes) == [(SIZE, SIZE)]


def test_search_on_own_data_writes_best_yaml(own, tool_env):
    """The README walk-through: the template, the one variable and the two
    length knobs on the command line; a real search writes best.yaml."""
    work = str(own['tmp'] / 'search')
    opts = [f'{k}={v}' for k, v in _options(own['root'], own['lut']).items()]
    out = subprocess.run(
        [sys.executable, 'tools/train.py', SEARCH, '--work-dir', work,
         '--cfg-options', *opts, 'search_epochs=2', 'warmup_epochs=1'],
        cwd=REPO_ROOT, env=tool_env, capture_output=True, text=True,
        timeout=900)
    assert out.returncode == 0, out.stderr[-4000:]
    log = out.stdout + out.stderr
    assert 'train_cfg.max_epochs: 20 -> 3' in log
    assert 'Exp name' in log or 'Epoch(train)' in log
    best = DerivedArch.load(osp.join(work, 'arch', 'best.yaml'))
    assert (best.num_classes, best.input_size) == (3, SIZE)
    assert best.meta['epoch'] in (2, 3) and best.meta['phase'] == 'search'
    assert sorted(os.listdir(osp.join(work, 'arch')))[:3] == [
        'best.yaml', 'epoch_1.net_config', 'epoch_1.yaml']
    own['best'] = osp.join(work, 'arch', 'best.yaml')


@pytest.mark.parametrize('extra, message', [
    (('model.architecture.head.num_classes=5', ),
     r'model\.architecture\.head\.num_classes = 5(.|\n)*'
     r'own_data\.num_classes'),
    (('val_evaluator.topk=[1,5]', ),
     r'val_evaluator\.topk = \(1, 5\) asks for top-5 of 3 classes .*: '
     r'set --cfg-options "val_evaluator\.topk=\(1, 3\)"'),
    (('train_dataloader.dataset.pipeline.1.crop_size=32', ),
     r'train_dataloader\.dataset\.pipeline crops / resizes to 32x32 but the '
     r'model is built for 48x48 inputs: set the transform\'s size to 48'),
    (('own_data.input_size=32', ),
     r'measured for 48x48 inputs but the search space is built for 32x32: '
     r'build a table for this run: python tools/build_latency_lut\.py'),
])
def test_mismatch_fails_before_training(own, tmp_path, extra, message):
    opts = _options(own['root'], own['lut'], *extra)
    with pytest.raises(RunConfigError, match=message):
        run_train(SEARCH, work_dir=str(tmp_path / 'w'), cfg_options=opts)
    assert not osp.exists(tmp_path / 'w')  # nothing was built


def test_one_larger_image_fails_before_training(own, tmp_path):
    root = str(tmp_path / 'images')
    _write_images(root)
    split_class_folders(root, osp.join(root, 'meta'))
    with open(osp.join(root, 'meta', 'search_val.txt')) as f:
        odd = f.readline().split()[0]
    cv2.imwrite(osp.join(root, odd), np.zeros((64, 64, 3), np.uint8))
    opts = _options(root, own['lut'])
    with pytest.raises(RunConfigError) as info:
        run_train(SEARCH, work_dir=str(tmp_path / 'w'), cfg_options=opts)
    text = str(info.value)
    assert f'1 of 6 images listed by {root}/meta/search_val.txt' in text
    assert f'{root}/{odd} is 64x64; the others are 48x48' in text
    assert "add dict(type='Resize', scale=48) after LoadImageFromFile" in text
    # the header scan is skipped on request
    opts['check_image_sizes'] = 'none'
    cfg = merge_train_options(Config.fromfile(SEARCH), SEARCH,
                              cfg_options=opts)
    check_run_config(cfg)


def test_missing_classes_file_names_the_split_tool(tmp_path):
    with pytest.raises(DataError, match='split_class_folders.py'):
        load_config(SEARCH, {'own_data.data_root': str(tmp_path)})


def test_retrain_template_checks_the_arch_classes(own, tmp_path):
    """The derived net's template builds with the search's best.yaml and
    refuses it for another class count (when the model is built)."""
    if 'best' not in own:
        pytest.skip('needs the search of test_search_on_own_data...')
    opts = {'own_data.data_root': own['root'], 'own_data.input_size': SIZE,
            'model.backbone.arch': own['best']}
    cfg = load_config(SUBNET, opts)
    check_run_config(cfg)
    from densenas_mm.apis.model_io import build_classifier
    model = build_classifier(cfg)
    assert model.head.num_classes == 3
    import torch
    assert model(torch.zeros(2, 3, SIZE, SIZE)).shape == (2, 3)
    with pytest.raises(ArchError, match='num_classes is 3 in the arch'):
        build_classifier(load_config(SUBNET, dict(opts, **{
            'own_data.num_classes': 4})))


def test_image_stats_tool(own, tmp_path, capsys):
    out = tmp_path / 'stats.json'
    status = load_tool('dataset/image_stats.py').main(
        [own['root'], '--ann-file',
         osp.join(own['root'], 'meta', 'search_train.txt'), '--json',
         str(out)])
    assert status == 0
    text = capsys.readouterr().out
    assert 'sizes: 48x48: 18 images' in text
    with open(out) as f:
        stats = json.load(f)
    assert stats['pixels'] == 18 * SIZE * SIZE
    # each class lifts one channel by 150 over noise in [0, 60) (mean
    # 29.5): every channel's mean is 29.5 + 150 / 3 = 79.5 up to the noise
    assert stats['mean'] == pytest.approx([79.5] * 3, abs=0.3)
    # std: a mixture of noise (std 17.3) around 29.5 and 179.5, 1 : 2
    assert stats['std'] == pytest.approx([72.8] * 3, abs=0.5)
