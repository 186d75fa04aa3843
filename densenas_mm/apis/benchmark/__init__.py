"""The benchmarks of ``tools/benchmark/`` (search steps, estimator).

Modules: :mod:`.builders` (the real algorithm, optimisers and baselines),
:mod:`.measure` (step timing), :mod:`.memory` (peak memory), :mod:`.syncs`
(host-device sync points), :mod:`.machine` (machine description),
:mod:`.search_step` and :mod:`.estimator_cost` (the two benchmarks).
"""
