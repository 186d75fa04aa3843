# The larger candidate space (densenas_subnet-demowide_1xb32-12e_fmnist.py)
# retrained on 10,000 training images (800 + 200 per class, as
# densenas_subnet-demo_1xb32-12e_fmnist10k.py): both levers of the
# search-quality study at once (docs/search_quality.md).
_base_ = ['./densenas_subnet-demowide_1xb32-12e_fmnist.py']

train_dataloader = dict(
    dataset=dict(per_class=dict(search_train=800, search_val=200)))
