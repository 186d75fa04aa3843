# Retrain a derived DenseNAS architecture on ImageNet-1k with the reference
# recipe (method doc section 6): 240 epochs, batch 1024 = 8 GPUs x 128,
# SGD lr 0.5 momentum 0.9 wd 4e-5, cosine per iteration to 1e-5, label
# smoothing 0.1, RandomResizedCrop + flip; Resize 256 / CenterCrop 224 eval.
# No dropout, EMA or auto-augment.
#
# The architecture is a YAML file written by the search (or a net_config
# string). The default, `arch_file`, is the best.yaml the MBV2 search config
# writes in its default work dir (tools/train.py without --work-dir); point
# the config at another on the command line:
#   CFG=configs/densenas/subnets/densenas_subnet-mbv2_8xb128-240e_in1k.py
#   SEARCH=work_dirs/densenas_supernet-mbv2_4xb88-150e_in100
#   bash tools/dist_train.sh $CFG 8 \
#       --cfg-options model.backbone.arch=$SEARCH/arch/last.yaml
# (mmengine substitutes `arch_file` when the file is parsed, so override
# `model.backbone.arch`, not `arch_file`.)
# For a ResNet-type arch also set model.head.in_channels to the width of
# its last block (MobileNetV2 types feed last_dim = 1984 to the head).
_base_ = [
    '../../_base_/default_runtime.py', '../../_base_/models/linear_init.py'
]

arch_file = ('work_dirs/densenas_supernet-mbv2_4xb88-150e_in100/arch/'
             'best.yaml')
feat_channels = 1984  # the arch's last_dim (MBV2) or last block width (ResNet)

model = dict(
    type='ImageClassifier',
    # the arch is checked against the space its YAML records; input_size
    # must be the one it was searched for (num_classes is not set: a
    # 100-class search is retrained on 1000 classes)
    backbone=dict(
        type='densenas_mm.DenseNASNet', arch=arch_file, input_size=224),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=feat_channels,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5),
        # the reference's retrained nets keep nn.Linear's own weight init
        # and zero the bias (MobileNetV2)
        init_cfg={{_base_.torch_default_fc_init}}))

# ------------------------------------------------------------------ data
dataset_type = 'ImageNet'
data_preprocessor = dict(
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(
    batch_size=128,  # per GPU; 8 GPUs -> 1024
    num_workers=8,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root='data/imagenet',
        ann_file='meta/train.txt',
        data_prefix='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root='data/imagenet',
        ann_file='meta/val.txt',
        data_prefix='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# -------------------------------------------------------------- schedule
max_epochs = 240
# Unprefixed types on purpose (environment.md trap 2: 'mmcls.SGD' fails).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=4e-5))
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
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# lr 0.5 is for a total batch of 1024; `--auto-scale-lr` rescales it.
auto_scale_lr = dict(base_batch_size=1024)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(
        type='densenas_mm.DenseNASCheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='accuracy/top1',
        rule='greater'))
