"""The benchmarks of ``tools/benchmark/`` (search steps, estimator).

Modules: :mod:`.builders` (the real algorithm, optimisers and baselines),
:mod:`.settings` (the step settings compared: default, channels-last,
reference), :mod:`.cases` (the timed cases and their FLOPs),
:mod:`.precision` (losses and gradients of the settings, float64),
:mod:`.measure` (step timing), :mod:`.memory` (peak memory), :mod:`.syncs`
(host-device sync points), :mod:`.machine` (machine description),
:mod:`.projection` (device-hours of the paper's search at measured rates),
:mod:`.report` (the tables), :mod:`.search_step` and :mod:`.estimator_cost`
(the two benchmarks).
"""
