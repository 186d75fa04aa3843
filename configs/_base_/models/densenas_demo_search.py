# The DenseNAS search model of the demo: the small MobileNetV2-type
# densenas_demo_32 space (10 classes, 32x32) with the paper's latency loss
# (lambda 0.15, tau 15 ms) on a CPU latency table. The demo search configs
# (configs/densenas/densenas_supernet-demo_1xb32-20e_{fmnist,digits}.py) add
# the data and its preprocessor.
#
# lut_file is the table tools/demo.sh builds (the builder's naming rule):
#   python tools/build_latency_lut.py \
#       configs/_base_/search_spaces/densenas_demo_32.py --device cpu \
#       --batch-size 32 --threads 1
#   # -> work_dirs/latency/densenas_demo_32_cpu_b32_t1.json
_base_ = ['../search_spaces/densenas_demo_32.py', './densenas_search.py']

lut_file = 'work_dirs/latency/densenas_demo_32_cpu_b32_t1.json'

model = dict(
    architecture=dict(
        backbone=dict(search_space={{_base_.search_space}}),
        head=dict(num_classes=10, in_channels=128)),
    estimator=dict(lut=lut_file, metric='latency'),
    cost_loss=dict(loss_weight=0.15, tau=15))
