# Beyond the paper (issue 21 item 5): the demo search of
# configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py whose weight
# steps draw ops uniformly for the whole search (model.weight_sampling=
# 'uniform', as SPOS trains its supernet) instead of from softmax(alpha)
# after warm-up (the paper). The idea: every op keeps being trained, so the
# supernet's scores of nets alpha does not favour stay comparable.
# tools/benchmark/ranking_options.py measures it after a longer weight-only
# warm-up, 15 instead of 10 epochs (25 epochs, 25 % more weight steps than
# the demo search), set on the command line so that the schedule follows
# (densenas_mm/apis/derive.py):
#
#   python tools/train.py \
#       configs/densenas/lab/densenas_supernet-demo-uniform_1xb32-20e_fmnist.py \
#       --cfg-options warmup_epochs=15
_base_ = ['../densenas_supernet-demo_1xb32-20e_fmnist.py']

model = dict(weight_sampling='uniform')
