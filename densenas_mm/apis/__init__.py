"""What the command line tools call (the top layer of the library; only
the experiments, :mod:`densenas_mm.experiments`, sit above it).

One module per job, imported by name (``from densenas_mm.apis.complexity
import model_complexity``) so a tool loads only what it needs:

- :mod:`.launch`: training and testing from a config (``run_train``,
  ``run_test``: what ``tools/train.py`` / ``test.py`` run) and the config
  adjustments they apply;
- :mod:`.model_io`: the classifier a config builds, with its checkpoint;
- :mod:`.conversion`: supernet -> standalone subnet checkpoints;
- :mod:`.complexity`: params / MACs reports;
- :mod:`.model_latency`: whole-model latency;
- :mod:`.latency_table`: building and importing latency tables;
- :mod:`.latency_audit`: LUT-predicted vs measured latency of a derived net;
- :mod:`.latency_agreement`: rank agreement of a table with measurement,
  two tables compared;
- :mod:`.latency_check`: the latency audit tool's three modes;
- :mod:`.export`: ONNX export and its ONNX Runtime check;
- :mod:`.random_arch`: random (same-budget) architectures;
- :mod:`.budgets`: the most probable net per cost budget and the whole
  front, from one search checkpoint;
- :mod:`.arch_plots`: the pictures of a search or an architecture;
- :mod:`.space_info`: the structure of a search space as text;
- :mod:`.cli`: the tools' argument helpers and ``ToolOutput`` (what a job
  returns for a tool's ``main`` to print).

A tool's ``main`` parses its arguments and calls one of these functions.

The benchmarks, the search-quality protocol and the demo summary are
experiments over this library: :mod:`densenas_mm.experiments`.
"""
