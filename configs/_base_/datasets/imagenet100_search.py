# DenseNAS search data: 100 ImageNet classes, each class's *training* images
# split 80/20 into search_train (supernet weights) and search_val
# (architecture parameters). Make the lists with
#   python tools/dataset/make_imagenet_subset.py data/imagenet/train \
#       --out-dir data/imagenet/meta/imagenet100 --num-classes 100
# Batch 88 per GPU: 352 in total on 4 GPUs, as in the DenseNAS search.
# mmcls CustomDataset that checks the annotation file and images when built
# (check_images='header': signature + end marker of every image, no decode)
dataset_type = 'densenas_mm.CheckedCustomDataset'
data_root = 'data/imagenet'
subset_dir = 'meta/imagenet100'

data_preprocessor = dict(
    num_classes=100,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackClsInputs'),
]


def _loader(ann_file, pipeline, shuffle, batch_size=88, seeded=False):
    loader = dict(
        batch_size=batch_size,
        num_workers=8,
        persistent_workers=True,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            ann_file=f'{subset_dir}/{ann_file}',
            # both lists hold paths relative to the ImageNet train folder
            data_prefix='train',
            pipeline=pipeline),
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
    )
    if seeded:  # augmentation seeded per sample (the search loaders below)
        loader['dataset'].update(
            type='densenas_mm.SeededDataset', dataset_type=dataset_type)
        loader['sampler']['type'] = 'densenas_mm.SeededSampler'
    return loader


# Which transform where (method doc 3, reference run_apis/search.py): the
# weight pass reads search_train with the training augmentation; the
# architecture pass and the supernet validation (which selects best.yaml)
# read search_val through the evaluation transform (Resize 256, CenterCrop
# 224, no flip). The two search loaders seed every sample's augmentation
# from (seed, epoch, index) (densenas_mm.SeededDataset + SeededSampler), so
# a resumed search repeats an uninterrupted one's random crops and flips.
search_train_dataloader = _loader(
    'search_train.txt', train_pipeline, True, seeded=True)
search_val_dataloader = _loader(
    'search_val.txt', test_pipeline, True, seeded=True)
supernet_val_dataloader = _loader('search_val.txt', test_pipeline, False)

# A plain train/val view of the same split (supernet accuracy on search_val).
train_dataloader = search_train_dataloader
val_dataloader = supernet_val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
