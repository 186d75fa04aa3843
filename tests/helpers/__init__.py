"""Shared test helpers (imported by the tests, not collected by pytest).

- :mod:`helpers.tools`: load a command line tool of ``tools/`` as a module;
- :mod:`helpers.builders`: supernet classifiers and mutators via registries;
- :mod:`helpers.search`: the DenseNAS algorithm of the demo config, its
  optimisers and fake batches;
- :mod:`helpers.estimators`: small spaces and fake mutators for the cost
  estimation tests;
- :mod:`helpers.search_hooks`: a registered hook the end-to-end runs use;
- :mod:`helpers.experiment_tools`: the digits demo configs, a benchmark
  tool set up on the demo data, and its resume check.
"""
import os.path as osp

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
