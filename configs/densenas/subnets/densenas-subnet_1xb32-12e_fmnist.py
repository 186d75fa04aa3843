# Retrain of a derived DenseNAS architecture on the Fashion-MNIST demo data
# (configs/_base_/datasets/fashion_mnist.py: 2,500 training images = the
# search's search-train + search-val, evaluated on the 10,000 test images).
# Same recipe shape as the ImageNet config (SGD + momentum, cosine per
# iteration, label smoothing 0.1), scaled down.
#
#   CFG=configs/densenas/subnets/densenas-subnet_1xb32-12e_fmnist.py
#   python tools/train.py $CFG \
#       --cfg-options model.backbone.arch=work_dirs/demo/arch.yaml
# The default arch is a hand-written path through the densenas_demo_32 space
# so the config runs without a search. Override `model.backbone.arch`. The
# backbone is checked against the space when it is built.
_base_ = [
    '../../_base_/search_spaces/densenas_demo_32.py',
    '../../_base_/datasets/fashion_mnist.py',
    '../../_base_/default_runtime.py'
]

arch_file = 'configs/densenas/subnets/archs/densenas_demo_32_example.yaml'
feat_channels = 128  # last_dim of the densenas_demo_32 space

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='densenas_mm.DenseNASNet',
        arch=arch_file,
        search_space={{_base_.search_space}},
        num_classes=10,
        input_size=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=feat_channels,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5)))

max_epochs = 12
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=4e-5))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-5,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs))
auto_scale_lr = dict(base_batch_size=32)
