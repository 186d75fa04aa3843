# Beyond the paper (issue 21 item 5): the demo search of
# configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py whose weight
# steps run one sampled stem-to-terminal path (model.weight_paths=
# 'sampled': uniformly per route in warm-up, from softmax(beta) after)
# instead of every head branch weighted by the path probabilities (the
# paper), as single-path supernets (SPOS) train: each weight step trains the
# weights of one whole net, as it will be scored. Measured with
# tools/benchmark/ranking_options.py (docs/search_quality.md, "Beyond the
# paper").
_base_ = ['../densenas_supernet-demo_1xb32-20e_fmnist.py']

model = dict(weight_paths='sampled')
