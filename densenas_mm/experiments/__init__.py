"""Experiments over the library: benchmarks, search quality, demo summary.

The top layer of ``densenas_mm``: it may import every other layer, and no
library module imports it. It is the only part that knows the repository
layout (``configs/``, ``tools/``, ``resources/``), so it needs a source
checkout and is not part of a non-editable install (see docs/design.md).

- :mod:`.benchmark`: search-step, estimator, depthwise-gradient, kernel
  profile and latency-table stability benchmarks;
- :mod:`.runs`: the run primitives (one search, one retrain, schedule
  options, latency-matched random nets, LUT and measured latency) the
  experiments below share;
- :mod:`.search_quality`: searched vs random nets at matched latency
  (:mod:`.search_quality_report`);
- :mod:`.pool`: the shared pool of random nets of a space (drawn once
  per setting, reused by every experiment below) and net files;
- :mod:`.signal_check`: the architecture share of the top-1 variance
  at one latency (with :mod:`.stats`, :mod:`.power`);
- :mod:`.search_vs_random`: the comparison protocol (searched, latency-
  matched random, RS-WS, hand-designed, extra searched arms;
  :mod:`.searched_arms`, :mod:`.latency_windows`, :mod:`.protocol_nets`,
  :mod:`.rsws`, :mod:`.supernet_score`, :mod:`.hand_designed`,
  :mod:`.arm_stats`, :mod:`.search_vs_random_report`; the tools' shared
  arguments: :mod:`.protocol_args`); :mod:`.rerun_check`: does a rerun
  with other seeds agree with a run;
- :mod:`.budget_front_check`: one search, many budgets: derived nets vs
  latency-matched random nets vs budget searches
  (:mod:`.budget_front_report`);
- :mod:`.named_specs`: the ``NAME=CONFIG[,KEY=VALUE...]`` grammar of named
  search configs (ranking options, extra searched arms);
- :mod:`.supernet_ranking`: does the supernet rank nets as retraining
  does (:mod:`.rank_stats`, :mod:`.supernet_ranking_report`);
- :mod:`.supernet_scorer`: a search checkpoint's supernet scoring nets of
  its space (used by the ranking and the RS-WS arm);
- :mod:`.budget_check`: does a latency budget hold in real milliseconds;
- :mod:`.demo_summary`: the demo's summary table;
- :mod:`.gpu_check`: the prepared GPU check (CUDA vs CPU, AMP, CUDA table
  chunk, DDP), with a CPU dry run.
"""
