# A derived DenseNAS architecture of the densenas_demo_32 space as an mmcls
# classifier (10 classes, 32x32), with the demo retrain's optimiser: the
# shared part of the demo subnet configs (configs/densenas/subnets/
# densenas_subnet-demo_1xb32-*_{fmnist,digits}.py), which add the data and the
# schedule's length.
#
# The default arch is a hand-written path through the space, so a config
# runs without a search. Override `model.backbone.arch` (not `arch_file`: it
# is substituted when the file is parsed). The backbone is checked against
# the space when it is built: an arch of another space, or one that does not
# fit this space, is refused.
_base_ = ['../search_spaces/densenas_demo_32.py']

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

# Same recipe shape as the ImageNet config (SGD + momentum, cosine per
# iteration, label smoothing 0.1), scaled down. lr 0.1 is for 1 x 32 images;
# `--auto-scale-lr` rescales it.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=4e-5))
auto_scale_lr = dict(base_batch_size=32)
val_cfg = dict()
test_cfg = dict()
