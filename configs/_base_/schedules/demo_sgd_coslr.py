# Short schedule for the 32x32 demo data on CPU: SGD + linear warm-up for one
# epoch (converted to iterations), then cosine decay to the last epoch.
max_epochs = 2

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.02, momentum=0.9, weight_decay=5e-5, nesterov=True))

# Unprefixed types on purpose: replaced lists lose the injected scope.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        eta_min=1e-4,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=32)
