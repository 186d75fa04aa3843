# Demo data: Fashion-MNIST (MIT licence), read from the Debian package
# dataset-fashion-mnist (/usr/share/datasets/fashion-mnist, installed by
# `make env` where apt is available) by densenas_mm.FashionMNISTSplit: no
# conversion, no download. The folder can be moved with the environment
# variable DENSENAS_FMNIST (read when the config is loaded).
#
# Splits, class-balanced and deterministic (seed 0):
#   search_train  200 training images per class: supernet weights
#   search_val     50 other training images per class: architecture params
#   train         search_train + search_val: retraining derived nets
#   test         1000 test images per class (all 10,000): evaluation only
# Images are zero-padded from 28x28 to 32x32; the grey channel is served
# three times (channels=3), so the RGB demo spaces and models apply as they
# are.
dataset_type = 'densenas_mm.FashionMNISTSplit'
data_root = '{{$DENSENAS_FMNIST:/usr/share/datasets/fashion-mnist}}'
per_class = dict(search_train=200, search_val=50, test=1000)

data_preprocessor = dict(
    num_classes=10,
    # statistics of the padded training images (0..255; equal channels)
    mean=[56.1, 56.1, 56.1],
    std=[84.7, 84.7, 84.7],
    to_rgb=False,
)

# Shifts of up to 2 pixels and horizontal flips (clothes stay clothes).
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
test_pipeline = [dict(type='PackClsInputs')]


def _loader(split, pipeline, shuffle, batch_size=32, seeded=False):
    loader = dict(
        batch_size=batch_size,
        num_workers=2,
        persistent_workers=True,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            split=split,
            per_class=per_class,
            seed=0,
            channels=3,
            pipeline=pipeline),
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
    )
    if seeded:  # augmentation seeded per sample (the search loaders below)
        loader['dataset'].update(
            type='densenas_mm.SeededDataset', dataset_type=dataset_type)
        loader['sampler']['type'] = 'densenas_mm.SeededSampler'
    return loader


train_dataloader = _loader('train', train_pipeline, True)
val_dataloader = _loader('test', test_pipeline, False, batch_size=256)
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator

# For DenseNAS search configs (as the digits base, configs/_base_/datasets/
# demo_digits.py):
# - the weight pass reads search_train with the training augmentation;
# - the architecture pass reads search_val with the *test* transform (the
#   reference feeds its arch steps through its validation transform);
# - supernet validation, which selects best.yaml, reads search_val too
#   (never the test images), with the test transform, unshuffled.
# The two search loaders are seeded per sample (densenas_mm.SeededDataset +
# SeededSampler), so a resumed search repeats the augmentation.
search_train_dataloader = _loader(
    'search_train', train_pipeline, True, seeded=True)
search_val_dataloader = _loader(
    'search_val', test_pipeline, True, seeded=True)
supernet_val_dataloader = _loader('search_val', test_pipeline, False)
