# DenseNAS search of the ResNet-based space (method doc 1.2) on ImageNet-100:
# 70 epochs, the first 10 weight-only warm-up; batch 512 = 4 GPUs x 128;
# cost = MFLOPs (no latency table needed), lambda 0.2, tau 3500 (DenseNAS-R2;
# the R1 variant uses tau 1700), skip_reg on, route temperature 0.9. The
# recipe is configs/_base_/schedules/densenas_search.py.
#   bash tools/dist_train.sh \
#       configs/densenas/densenas_supernet-resnet-r2_4xb128-70e_in100.py 4
_base_ = [
    '../_base_/search_spaces/densenas_resnet_224.py',
    '../_base_/datasets/imagenet100_search.py',
    '../_base_/models/densenas_search.py',
    '../_base_/schedules/densenas_search.py',
]

warmup_epochs = 10
max_epochs = 70
# The reference validates the supernet on search-val from epoch 50 (0-based,
# i.e. after the 51st) and keeps the top-2 architectures.
val_begin = 51
batch_size = 128  # per GPU

model = dict(
    architecture=dict(
        backbone=dict(
            search_space={{_base_.search_space}}, route_temperature=0.9),
        # last_dim of the space; init_cfg None keeps nn.Linear's own init
        # (weight and bias), as the reference's ResNet supernet does
        head=dict(num_classes=100, in_channels=512, init_cfg=None),
        data_preprocessor={{_base_.data_preprocessor}}),
    estimator=dict(metric='flops', skip_reg=True),  # mult-adds in M
    cost_loss=dict(loss_weight=0.2, tau=3500))

# the base's train_dataloader is search-train; only its batch size changes
train_dataloader = dict(batch_size=batch_size)
# search-val through the evaluation transform, seeded per sample, as the
# dataset base's search_val_dataloader (only the batch size differs)
_arch_loader = dict(
    batch_size=batch_size,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(
        type='densenas_mm.SeededDataset',
        dataset_type={{_base_.dataset_type}},
        data_root={{_base_.data_root}},
        ann_file='meta/imagenet100/search_val.txt',
        data_prefix='train',
        pipeline={{_base_.test_pipeline}}),
    sampler=dict(type='densenas_mm.SeededSampler', shuffle=True))
train_cfg = dict(
    arch_dataloader=_arch_loader,
    max_epochs=max_epochs,
    val_begin=val_begin)
val_dataloader = dict(batch_size=batch_size)

param_scheduler = dict(architecture=[
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=1e-5,
        by_epoch=True,
        convert_to_iter_based=True)
])
custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=warmup_epochs),
    dict(type='densenas_mm.DenseNASArchHook', topk=2),
    # pictures every 10 epochs; curves (vis/curves.png, vis/history.json)
    # every epoch
    dict(type='densenas_mm.DenseNASVisualizationHook', interval=10),
]

env_cfg = dict(dist_cfg=dict(backend='nccl'))
# --auto-scale-lr: the recipe's learning rates are for 512 images in total;
# mmengine scales both optimisers' (weights and alpha/beta) by the ratio.
auto_scale_lr = dict(base_batch_size=512)
