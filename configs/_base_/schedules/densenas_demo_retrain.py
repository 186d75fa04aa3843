# The demo's retrain schedule for a derived net: 12 epochs, cosine per
# iteration to 1e-5 (the optimiser: configs/_base_/models/
# densenas_demo_subnet.py), validation and one checkpoint at the end,
# written atomically and loaded strictly (tools/train.py would swap a plain
# CheckpointHook for it anyway; the config says what runs). It builds on
# the common runtime (and changes its logging and checkpoint settings), so
# configs list it instead of default_runtime.py.
_base_ = ['../default_runtime.py']

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
    checkpoint=dict(
        type='densenas_mm.DenseNASCheckpointHook', interval=max_epochs))
