# Your own images, in class folders, for a DenseNAS search and a retrain:
#
#   data/my_images/<class>/<image>          (any size; see own_data below)
#   python tools/dataset/split_class_folders.py data/my_images
#   # -> data/my_images/meta/{search_train,search_val,test,train,classes}.txt
#
# Everything that depends on the data follows the one variable own_data,
# derived when the run is built (densenas_mm/apis/derive.py), so it can be
# changed in a config that uses this base or with --cfg-options, e.g.
#   --cfg-options own_data.data_root=data/flowers own_data.input_size=64
# own_data.data_root -> every loader's data_root; num_classes -> the search
# space, the head, the data preprocessor, the evaluators' top-k
# ((1, min(5, classes))); input_size -> the space (its block resolutions
# scaled) and every crop / resize of the pipelines; mean / std -> the data
# preprocessor. Before any training the run checks that the images reaching
# the model, the space, the latency table, the head and the evaluators agree
# (densenas_mm/apis/run_checks.py; check_image_sizes='decode' decodes the
# images instead of reading their headers, 'none' skips the scan).
own_data = dict(
    data_root='data/my_images',
    # None: the number of lines of <data_root>/meta/classes.txt
    num_classes=None,
    # pixels per side of the images the model sees: the images must have
    # this size, unless a Resize is added to the pipelines below
    input_size=32,
    # RGB, 0..255: python tools/dataset/image_stats.py DATA_ROOT
    #     --ann-file DATA_ROOT/meta/search_train.txt
    # prints your data's; these are ImageNet's
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375])
check_image_sizes = 'header'

dataset_type = 'densenas_mm.CheckedCustomDataset'
# num_classes, mean and std are derived from own_data when the run is built
data_preprocessor = dict(
    num_classes=own_data['num_classes'],
    mean=own_data['mean'],
    std=own_data['std'],
    to_rgb=True)

# The crops take their size from own_data.input_size when the run is built
# (a 4-pixel padded random crop and a flip). For images of other sizes add
# dict(type='Resize', scale=32) after LoadImageFromFile (its scale follows
# own_data.input_size too).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
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
            data_root=own_data['data_root'],  # derived again at build
            ann_file=ann_file,
            data_prefix='',
            pipeline=pipeline),
        sampler=dict(type='DefaultSampler', shuffle=shuffle),
    )
    if seeded:  # augmentation seeded per sample (the search loaders below)
        loader['dataset'].update(
            type='densenas_mm.SeededDataset', dataset_type=dataset_type)
        loader['sampler']['type'] = 'densenas_mm.SeededSampler'
    return loader


# Retraining a derived net: train on search_train + search_val, test on test.
train_dataloader = _loader('meta/train.txt', train_pipeline, True)
val_dataloader = _loader('meta/test.txt', test_pipeline, False)
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))  # top-k derived
test_evaluator = val_evaluator

# A search: weights on search_train (augmented), architecture steps on
# search_val (test transform), supernet validation on search_val.
search_train_dataloader = _loader(
    'meta/search_train.txt', train_pipeline, True, seeded=True)
search_val_dataloader = _loader(
    'meta/search_val.txt', test_pipeline, True, seeded=True)
supernet_val_dataloader = _loader('meta/search_val.txt', test_pipeline,
                                  False)
