# densenas_mm developer entry points.
#
#   make demo   build the demo data, train + evaluate (see tools/demo.sh)
#   make test   run the test suite (CPU, 2 processes, 13-21 minutes on 2 cores)
#   make env    create / update the virtualenv in $(VENV) and install the
#               demo's Fashion-MNIST via apt where possible (done by the above)
#
# `env` is idempotent: a stamp file inside the venv records that the
# requirements were installed, and is rebuilt only when a requirements file,
# setup.cfg or setup.py changes.

SHELL := /bin/bash
PYTHON3 ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.densenas_mm-env.stamp
ENV_DEPS := requirements.txt $(wildcard requirements/*.txt) setup.cfg setup.py
PYTEST_ARGS ?= -q -ra --durations=10
# Test processes (pytest-xdist); a module's tests stay on one of them.
TEST_WORKERS ?= 2

.PHONY: env test demo clean-env data-packages

env: $(STAMP) data-packages

# The demo's Fashion-MNIST from Debian (dataset-fashion-mnist) where apt can
# be used; a no-op once installed (see tools/dataset/install_fashion_mnist.sh).
data-packages:
	@bash tools/dataset/install_fashion_mnist.sh

$(STAMP): $(ENV_DEPS)
	@test -x $(PY) || { echo "creating $(VENV)"; $(PYTHON3) -m venv $(VENV); }
	@# torch first and on its own: keep any torch >= 2.1 already in the venv
	@# (e.g. a CUDA build preinstalled on a GPU machine).
	@if $(PY) -c "import sys, torch; v = tuple(int(x) for x in torch.__version__.split('+')[0].split('.')[:2]); sys.exit(0 if v >= (2, 1) else 1)" 2>/dev/null; then \
		echo "torch >= 2.1 already installed: $$($(PY) -c 'import torch; print(torch.__version__)')"; \
	else \
		$(PIP) install $(TORCH_SPEC); \
	fi
	$(PIP) install -r requirements.txt 'setuptools>=70.1'
	$(PIP) install --no-build-isolation --no-deps -e .
	@touch $@

test: env
	$(PY) -m pytest tests -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

demo: env
	PATH="$(abspath $(VENV))/bin:$$PATH" bash tools/demo.sh

clean-env:
	rm -rf $(VENV)
