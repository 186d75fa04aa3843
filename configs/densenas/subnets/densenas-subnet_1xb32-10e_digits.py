# Short retrain of a derived DenseNAS architecture on the embedded 32x32
# digits demo data (10 classes; build it with
#   python tools/dataset/make_demo_data.py --out data/demo_digits).
# Same recipe shape as the ImageNet config (SGD + momentum, cosine per
# iteration, label smoothing 0.1), scaled down: 10 epochs, batch 32.
#
#   CFG=configs/densenas/subnets/densenas-subnet_1xb32-10e_digits.py
#   SEARCH=work_dirs/densenas_supernet-demo_1xb32-20e_digits
#   python tools/train.py $CFG \
#       --cfg-options model.backbone.arch=$SEARCH/arch/last.yaml
#   python tools/test.py $CFG \
#       work_dirs/densenas-subnet_1xb32-10e_digits/epoch_10.pth
# The default arch is a hand-written path through the densenas_demo_32 space
# (configs/_base_/search_spaces/densenas_demo_32.py), so the config runs
# without a search. Override `model.backbone.arch` (not `arch_file`: it is
# substituted when the file is parsed).
# The backbone is checked against the space when it is built: an arch of
# another space, or one that does not fit this space, is refused.
_base_ = [
    '../../_base_/search_spaces/densenas_demo_32.py',
    '../../_base_/datasets/demo_digits.py', '../../_base_/default_runtime.py'
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

max_epochs = 10
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
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(type='LoggerHook', interval=10))
# lr 0.1 is for 1 x 32 images; `--auto-scale-lr` rescales it.
auto_scale_lr = dict(base_batch_size=32)
