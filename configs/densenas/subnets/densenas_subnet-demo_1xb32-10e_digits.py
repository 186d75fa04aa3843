# Short retrain of a derived DenseNAS architecture on the embedded 32x32
# digits demo data (10 classes; build it with
#   python tools/dataset/make_demo_data.py --out data/demo_digits):
# 10 epochs at batch 32. The model, the default arch and the optimiser:
# configs/_base_/models/densenas_demo_subnet.py.
#
#   CFG=configs/densenas/subnets/densenas_subnet-demo_1xb32-10e_digits.py
#   SEARCH=work_dirs/densenas_supernet-demo_1xb32-20e_digits
#   python tools/train.py $CFG \
#       --cfg-options model.backbone.arch=$SEARCH/arch/last.yaml
#   python tools/test.py $CFG \
#       work_dirs/densenas_subnet-demo_1xb32-10e_digits/epoch_10.pth
_base_ = [
    '../../_base_/models/densenas_demo_subnet.py',
    '../../_base_/datasets/demo_digits.py', '../../_base_/default_runtime.py'
]

max_epochs = 10
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
default_hooks = dict(logger=dict(type='LoggerHook', interval=10))
