"""SeededSampler + SeededDataset: a sample's augmentation depends on (seed,
epoch, index) only, not on the worker, the process or what came before."""
import random

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler, pseudo_collate
from mmengine.registry import DefaultScope
from torch.utils.data import DataLoader

import densenas_mm  # noqa: F401
from densenas_mm.datasets import SampleKey, SeededDataset, SeededSampler
from densenas_mm.registry import DATA_SAMPLERS, DATASETS


@pytest.fixture(scope='module')
def dataset(demo_data_root):
    """The demo's search-train split with its random-crop pipeline, built
    from a config as the search configs do (64 images)."""
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance('densenas_seeded_tests', scope_name='mmcls')
    return DATASETS.build(
        dict(
            type='densenas_mm.SeededDataset',
            dataset_type='CustomDataset',
            data_root=demo_data_root,
            ann_file='meta/search_train.txt',
            data_prefix='',
            indices=64,
            pipeline=[
                dict(type='LoadImageFromFile'),
                # a large padding: most draws give different crops
                dict(type='RandomCrop', crop_size=32, padding=8),
                dict(type='PackClsInputs'),
            ]))


def _image(sample) -> torch.Tensor:
    return sample['inputs']


def test_same_key_same_augmentation_other_epoch_other_one(dataset):
    a = _image(dataset[SampleKey(0, 3, 5)])
    b = _image(dataset[SampleKey(0, 3, 5)])
    assert torch.equal(a, b)
    others = [_image(dataset[SampleKey(0, e, 5)]) for e in range(4, 10)]
    assert sum(not torch.equal(a, o) for o in others) >= 4
    assert not all(
        torch.equal(a, _image(dataset[SampleKey(s, 3, 5)]))
        for s in range(1, 7))
    # a plain index is the wrapped dataset's own (unseeded) sample
    plain = dataset[5]['data_samples']
    assert plain.sample_idx == 5
    assert plain.gt_label.label.tolist() == \
        dataset.dataset[5]['data_samples'].gt_label.label.tolist()


def test_global_generators_are_left_as_they_were(dataset):
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    expected = (random.random(), np.random.rand(), torch.rand(1))
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    dataset[SampleKey(0, 0, 7)]
    assert (random.random(), np.random.rand(), torch.rand(1)) == expected


def test_sampler_keeps_the_default_order_and_adds_seed_and_epoch(dataset):
    seeded = DATA_SAMPLERS.build(
        dict(type='densenas_mm.SeededSampler', shuffle=True, seed=3),
        default_args=dict(dataset=dataset))
    plain = DefaultSampler(dataset, shuffle=True, seed=3)
    for epoch in (0, 4):
        seeded.set_epoch(epoch)
        plain.set_epoch(epoch)
        keys = list(seeded)
        assert [k.index for k in keys] == list(plain)
        assert {(k.seed, k.epoch) for k in keys} == {(3, epoch)}
        assert len(keys) == len(seeded) == 64


def _epoch_batches(loader, epoch):
    loader.sampler.set_epoch(epoch)
    return [torch.stack(b['inputs']) for b in loader]


def test_persistent_workers_and_a_fresh_loader_give_the_same_crops(dataset):
    """What a resumed run does: new workers start at epoch 2 and load the
    crops the persistent workers of an uninterrupted run load there."""

    def loader():
        return DataLoader(
            dataset,
            batch_size=8,
            sampler=SeededSampler(dataset, shuffle=True, seed=0),
            num_workers=2,
            persistent_workers=True,
            collate_fn=pseudo_collate)

    uninterrupted = loader()
    for epoch in (0, 1):
        _epoch_batches(uninterrupted, epoch)
    want = _epoch_batches(uninterrupted, 2)
    got = _epoch_batches(loader(), 2)
    assert len(want) == len(got) == 8
    assert all(torch.equal(a, b) for a, b in zip(want, got))
    # in-process loading gives the same crops again
    inline = DataLoader(
        dataset,
        batch_size=8,
        sampler=SeededSampler(dataset, shuffle=True, seed=0),
        collate_fn=pseudo_collate)
    assert all(
        torch.equal(a, b) for a, b in zip(want, _epoch_batches(inline, 2)))


def test_wrapper_reads_through_to_the_dataset(dataset):
    assert len(dataset) == 64
    assert dataset.metainfo == dataset.dataset.metainfo
    assert dataset.metainfo is not dataset.dataset.metainfo  # a copy
    assert dataset.ann_file.endswith('search_train.txt')
    assert 'SeededDataset(' in repr(dataset)


def test_bad_wrapper_arguments_are_explained(dataset):
    with pytest.raises(ValueError, match='either as dataset_type'):
        SeededDataset()
    with pytest.raises(ValueError, match='either as dataset_type'):
        SeededDataset(dataset_type='CustomDataset', dataset=dataset.dataset)
    with pytest.raises(ValueError, match=r"\['indices'\] given beside"):
        SeededDataset(dataset=dataset.dataset, indices=3)
    with pytest.raises(TypeError, match='must be indexable'):
        SeededDataset(dataset=42)
