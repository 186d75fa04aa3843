# The demo retrain (densenas_subnet-demo_1xb32-12e_fmnist.py) for nets of
# the larger candidate space configs/_base_/search_spaces/
# densenas_demo_wide_32.py (docs/search_quality.md, "Candidate settings").
# The backbone checks the net against the space recorded in its arch file
# (a net derived from configs/densenas/
# densenas_supernet-demowide_1xb32-20e_fmnist.py records it), not against
# the demo space.
_base_ = ['./densenas_subnet-demo_1xb32-12e_fmnist.py']

model = dict(
    backbone=dict(
        arch='configs/densenas/subnets/archs/'
        'densenas_demo_wide_32_example.yaml',
        search_space=None))
