# DenseNAS search on the embedded demo data (scikit-learn digits, 32x32),
# the demo's fallback where Fashion-MNIST is not installed: the model of
# configs/_base_/models/densenas_demo_search.py and the schedule of
# configs/_base_/schedules/densenas_demo_search.py with 12 warm-up + 8
# search epochs and an alpha/beta lr of 1e-2. Why 12 warm-up epochs: with
# uniform single-op sampling the supernet needs ~400-500 weight steps (batch
# 32) before its loss falls, against ~60 for a fixed set of ops (measured on
# the digits; docs/demo.md).
#
#   python tools/train.py configs/densenas/densenas_supernet-demo_1xb32-20e_digits.py
_base_ = [
    '../_base_/models/densenas_demo_search.py',
    '../_base_/datasets/demo_digits.py',
    '../_base_/schedules/densenas_demo_search.py',
]

# the schedule's two knobs (max_epochs, val_begin, the cosine and the
# warm-up hook follow them when the run is built)
warmup_epochs = 12
search_epochs = 8

model = dict(
    architecture=dict(data_preprocessor={{_base_.data_preprocessor}}))

# The weight pass reads search-train (random crops), the architecture pass
# search-val (test transform). Supernet validation reads search-val too, so
# best.yaml is selected without the test split; it starts after warm-up.
train_dataloader = {{_base_.search_train_dataloader}}
val_dataloader = {{_base_.supernet_val_dataloader}}
train_cfg = dict(
    arch_dataloader={{_base_.search_val_dataloader}},
    max_epochs=warmup_epochs + search_epochs,
    val_begin=warmup_epochs + 1)
optim_wrapper = dict(mutator=dict(optimizer=dict(lr=1e-2)))
custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=warmup_epochs),
    dict(type='densenas_mm.DenseNASArchHook', topk=2),
    dict(type='densenas_mm.DenseNASVisualizationHook', interval=5),
]
default_hooks = dict(logger=dict(interval=10), search_logger=dict(interval=10))
