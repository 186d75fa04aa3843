# The demo retrain (densenas_subnet-demo_1xb32-12e_fmnist.py) on 10,000
# Fashion-MNIST training images instead of 2,500 (800 + 200 per class: a
# superset of the search's 200 + 50, same split seed), evaluated on the
# same 10,000 test images: the "more retrain data" candidate of the
# search-quality study (docs/search_quality.md). Up to 6,000 per class
# exist (search_train + search_val <= 6000).
_base_ = ['./densenas_subnet-demo_1xb32-12e_fmnist.py']

train_dataloader = dict(
    dataset=dict(per_class=dict(search_train=800, search_val=200)))
