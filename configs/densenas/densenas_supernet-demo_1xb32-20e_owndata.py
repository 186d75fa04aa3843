# DenseNAS search on your own images: the demo recipe (the small
# MobileNetV2-type densenas_demo_32 space, 10 warm-up + 10 search epochs)
# on the class-folder data of configs/_base_/datasets/own_data.py. Set the
# one variable own_data (data root, classes, input size) here or with
# --cfg-options; the loaders, the space, the head, the preprocessor and the
# evaluators follow it when the run is built. The search length is the
# two knobs warmup_epochs / search_epochs (max_epochs, val_begin, the
# weights' cosine and the warm-up hook follow them).
#
#   python tools/dataset/split_class_folders.py data/my_images
#   python tools/build_latency_lut.py \
#       configs/densenas/densenas_supernet-demo_1xb32-20e_owndata.py \
#       --device cpu --batch-size 32 --threads 1 \
#       --cfg-options own_data.input_size=32
#   python tools/train.py \
#       configs/densenas/densenas_supernet-demo_1xb32-20e_owndata.py \
#       --cfg-options own_data.data_root=data/my_images own_data.input_size=32
#
# The latency table must be measured for the space at own_data.input_size
# (a table for another size or class count stops the run before training
# and says how to build the right one; give each size its own --out).
_base_ = [
    '../_base_/models/densenas_demo_search.py',
    '../_base_/datasets/own_data.py',
    '../_base_/schedules/densenas_demo_search.py',
]

own_data = dict(data_root='data/my_images', num_classes=None, input_size=32)
warmup_epochs = 10
search_epochs = 10

search_space = dict(name='densenas_own')
model = dict(
    architecture=dict(
        backbone=dict(search_space=dict(name='densenas_own')),
        data_preprocessor={{_base_.data_preprocessor}}),
    estimator=dict(lut='work_dirs/latency/densenas_own_cpu_b32_t1.json'))
train_dataloader = {{_base_.search_train_dataloader}}
val_dataloader = {{_base_.supernet_val_dataloader}}
train_cfg = dict(arch_dataloader={{_base_.search_val_dataloader}})
