# Retrain of a derived DenseNAS architecture on the Fashion-MNIST demo data
# (configs/_base_/datasets/fashion_mnist.py: 2,500 training images = the
# search's search-train + search-val, evaluated on the 10,000 test images):
# the demo's retrain, 12 epochs at batch 32. The model, the default arch and
# the optimiser: configs/_base_/models/densenas_demo_subnet.py.
#
#   CFG=configs/densenas/subnets/densenas_subnet-demo_1xb32-12e_fmnist.py
#   python tools/train.py $CFG \
#       --cfg-options model.backbone.arch=work_dirs/demo/arch.yaml
_base_ = [
    '../../_base_/models/densenas_demo_subnet.py',
    '../../_base_/datasets/fashion_mnist.py',
    '../../_base_/default_runtime.py'
]

max_epochs = 12
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
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    # atomic writes, strict loading (tools/train.py would swap a plain
    # CheckpointHook for it anyway; the config says what runs)
    checkpoint=dict(
        type='densenas_mm.DenseNASCheckpointHook', interval=max_epochs))
