# Retrain (from scratch) the architecture a search on your own images
# derived (configs/densenas/densenas_supernet-demo_1xb32-20e_owndata.py), on
# search_train + search_val, evaluated on the test split, with the demo's
# 12-epoch recipe (configs/_base_/schedules/densenas_demo_retrain.py). The
# data follow the one variable own_data, as in the search (set it to the
# same values); the architecture file must come from a search with the
# same classes and input size (DenseNASNet checks both when the model is
# built). README, "Search on your own data", has the commands:
#
#   SEARCH=work_dirs/densenas_supernet-demo_1xb32-20e_owndata
#   python tools/train.py \
#       configs/densenas/subnets/densenas_subnet-demo_1xb32-12e_owndata.py \
#       --cfg-options own_data.data_root=data/my_images \
#       own_data.input_size=32 model.backbone.arch=$SEARCH/arch/best.yaml
_base_ = [
    '../../_base_/models/densenas_demo_subnet.py',
    '../../_base_/datasets/own_data.py',
    '../../_base_/schedules/densenas_demo_retrain.py',
]

own_data = dict(data_root='data/my_images', num_classes=None, input_size=32)

model = dict(
    # the architecture file records its space; the classes and input size
    # are derived from own_data and must equal the architecture's
    backbone=dict(
        arch=('work_dirs/densenas_supernet-demo_1xb32-20e_owndata/arch/'
              'best.yaml'),
        search_space=None))
