# Retraining schedule of derived DenseNAS networks on ImageNet, after the
# reference implementation (configs/imagenet_train_cfg.py of DenseNAS):
# 240 epochs, batch 1024 (e.g. 8 GPUs x 128), SGD momentum 0.9, initial lr
# 0.5 with cosine decay to 1e-5, weight decay 4e-5, label smoothing 0.1 (set
# in the model head: loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1)).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=4e-5))

param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=240,
        eta_min=1e-5,
        by_epoch=True,
        begin=0,
        end=240,
        convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# Scale the lr linearly with --auto-scale-lr when the total batch differs.
auto_scale_lr = dict(base_batch_size=1024)
