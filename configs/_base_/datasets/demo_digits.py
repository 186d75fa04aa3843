# Demo data: scikit-learn's handwritten digits as 32x32 RGB PNGs, built by
#   python tools/dataset/make_demo_data.py --out data/demo_digits
# The root can be moved with the environment variable DENSENAS_DEMO_DATA
# (read when the config is loaded) or per loader with --cfg-options, e.g.
#   train_dataloader.dataset.data_root=/path/to/demo_digits
#
# Splits (per class 60/20/20, see densenas_mm/datasets/demo_data.py):
#   meta/search_train.txt  weights of the supernet during the search
#   meta/search_val.txt    architecture parameters during the search
#   meta/train.txt         search_train + search_val: (re)training
#   meta/test.txt          validation and test
# mmcls CustomDataset that checks the annotation file and images when built
# (an empty list, a bad label or a truncated image is named at load time)
dataset_type = 'densenas_mm.CheckedCustomDataset'
data_root = '{{$DENSENAS_DEMO_DATA:data/demo_digits}}'
classes = ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')

data_preprocessor = dict(
    num_classes=10,
    # statistics of the demo train split (grey: equal channels)
    mean=[77.5, 77.5, 77.5],
    std=[82.4, 82.4, 82.4],
    to_rgb=True,
)

# Mild augmentation only: a 2-pixel shift. No flips: they change digits.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=2),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackClsInputs'),
]


def _loader(ann_file, pipeline, shuffle, batch_size=32, seeded=False):
    loader = dict(
        batch_size=batch_size,
        num_workers=2,
        persistent_workers=True,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            ann_file=ann_file,
            data_prefix='',
            metainfo=dict(classes=classes),
            pipeline=pipeline),
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
    )
    if seeded:  # augmentation seeded per sample (the search loaders below)
        loader['dataset'].update(
            type='densenas_mm.SeededDataset', dataset_type=dataset_type)
        loader['sampler']['type'] = 'densenas_mm.SeededSampler'
    return loader


train_dataloader = _loader('meta/train.txt', train_pipeline, True)
val_dataloader = _loader('meta/test.txt', test_pipeline, False)
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator

# For DenseNAS search configs (method doc 3, "which transform where"):
# - the weight pass reads search_train with the training augmentation;
# - the architecture pass reads search_val with the *test* transform (the
#   reference feeds its arch steps through its validation transform);
# - supernet validation, which selects best.yaml, reads search_val too
#   (never the test split), with the test transform, unshuffled.
# The two search loaders wrap their dataset in densenas_mm.SeededDataset and
# draw from densenas_mm.SeededSampler: every random crop is a function of
# (seed, epoch, sample index), so a resumed search repeats the augmentation
# of an uninterrupted one with any number of (persistent) workers.
search_train_dataloader = _loader(
    'meta/search_train.txt', train_pipeline, True, seeded=True)
search_val_dataloader = _loader(
    'meta/search_val.txt', test_pipeline, True, seeded=True)
supernet_val_dataloader = _loader('meta/search_val.txt', test_pipeline, False)
