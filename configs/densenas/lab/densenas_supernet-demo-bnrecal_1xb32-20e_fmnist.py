# Beyond the paper (issue 21 item 5): the demo search of
# configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py with supernet
# validation, and so best.yaml / top-k selection, on BN statistics
# re-estimated for the validated mixture on 20 search-train batches
# (DenseNASBNRecalibrationHook, as SPOS / OFA evaluate subnets) instead of
# each validation batch's own statistics (the reference). Training is the
# same step for step: the hook puts the training statistics and the random
# state back after validating. Measured with tools/benchmark/ranking_options.py
# (docs/search_quality.md, "Beyond the paper").
_base_ = ['../densenas_supernet-demo_1xb32-20e_fmnist.py']

custom_hooks = [
    dict(type='densenas_mm.DenseNASWarmupHook', warmup_epochs=10),
    dict(type='densenas_mm.DenseNASArchHook', topk=2),
    dict(type='densenas_mm.DenseNASVisualizationHook', interval=5),
    dict(type='densenas_mm.DenseNASBNRecalibrationHook', batches=20),
]
