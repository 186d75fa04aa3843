# Baseline: mmcls MobileNetV2 (width 0.5) trained from scratch on the 32x32
# digits demo data. It checks the data / train / test plumbing and gives a
# reference accuracy for the DenseNAS demo search. On 32x32 inputs the
# backbone's total stride 32 leaves a 1x1 map before global pooling.
#
#   python tools/train.py configs/baseline/mobilenet-v2_w0.5_1xb32-2e_digits.py
#   python tools/test.py configs/baseline/mobilenet-v2_w0.5_1xb32-2e_digits.py \
#       work_dirs/mobilenet-v2_w0.5_1xb32-2e_digits/epoch_2.pth
_base_ = [
    '../_base_/datasets/demo_digits.py',
    '../_base_/schedules/demo_sgd_coslr.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='MobileNetV2', widen_factor=0.5),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        # mmcls keeps the last conv at 1280 channels for widen_factor <= 1
        in_channels=1280,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ))

default_hooks = dict(logger=dict(interval=10))
