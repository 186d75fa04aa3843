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
- :mod:`.latency_audit`: LUT-predicted vs measured latency of a derived net;
- :mod:`.export`: ONNX export and its ONNX Runtime check;
- :mod:`.random_arch`: random (same-budget) architectures.

The benchmarks, the search-quality protocol and the demo summary are
experiments over this library: :mod:`densenas_mm.experiments`.
"""
