# Beyond the paper (issue 21 item 5): the demo search of
# configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py whose weight
# steps draw ops uniformly for the whole search (model.weight_sampling=
# 'uniform', as SPOS trains its supernet) instead of from softmax(alpha)
# after warm-up (the paper), after a longer weight-only warm-up (15 instead
# of 10 epochs; 25 epochs, 25 % more weight steps than the demo search).
# The idea: every op keeps being trained, so the supernet's scores of nets
# alpha does not favour stay comparable. Measured with
# tools/benchmark/ranking_options.py (docs/search_quality.md, "Beyond the
# paper").
_base_ = ['../densenas_supernet-demo_1xb32-20e_fmnist.py']

warmup_epochs = 15
search_epochs = 10
model = dict(weight_sampling='uniform')
# A config file's own knobs do not re-derive the inherited schedule (only
# --cfg-options warmup_epochs=... do: densenas_mm/apis/derive.py), so the
# keys that follow them are set here.
train_cfg = dict(
    max_epochs=warmup_epochs + search_epochs, val_begin=warmup_epochs + 1)
param_scheduler = dict(architecture=[
    dict(
        type='CosineAnnealingLR',
        T_max=warmup_epochs + search_epochs,
        eta_min=1e-4,
        by_epoch=True,
        convert_to_iter_based=True)
])
custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=warmup_epochs),
    dict(type='densenas_mm.DenseNASArchHook', topk=2),
    dict(type='densenas_mm.DenseNASVisualizationHook', interval=5),
]
