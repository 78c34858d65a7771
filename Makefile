# mmvid_memory: two commands.
#   make demo   -- the main job (installs what it needs into .venv first)
#   make test   -- the test suite (installs what it needs into .venv first)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CSRC := $(shell find mmvid_memory/ops/csrc -name '*.cpp' -o -name '*.cu' -o -name '*.h' -o -name '*.cuh' 2>/dev/null)
EXT_STAMP := $(VENV)/.mmvid_ext_built
PYTEST_ARGS ?=
# e.g. make demo DEMO_ARGS=--extended (the ablation tables, ~20 min more)
DEMO_ARGS ?=

.PHONY: env ext test demo demo-train cuda-check benchmark clean help

help:
	@echo "make demo        train + evaluate the memory detectors on SynthVID, print the table"
	@echo "make test        run the test suite"
	@echo "make cuda-check  compile the CUDA kernels with nvcc (no GPU needed)"
	@echo "make benchmark   time the PSRoIPool op"

# Creates or verifies .venv (torch, mmcv built from source and cached, mmdet, this package).
env:
	@bash tools/setup_env.sh

# Rebuild the compiled extension when its sources change.
$(EXT_STAMP): $(CSRC) setup.py | env
	@echo "[make] building mmvid_memory._C"
	@MAX_JOBS=$$(nproc) $(PY) setup.py -q build_ext --inplace
	@$(PY) -c "import mmvid_memory._C"
	@touch $@

ext: env $(EXT_STAMP)

test: ext
	$(PY) -m pytest tests $(PYTEST_ARGS)

demo: ext
	$(PY) tools/run_demo.py $(DEMO_ARGS)

demo-train: ext
	$(PY) tools/run_demo.py --retrain $(DEMO_ARGS)

cuda-check:
	bash tools/check_cuda_compile.sh

benchmark: ext
	$(PY) tools/analysis_tools/benchmark_psroi_pool.py

clean:
	rm -rf build $(VENV) mmvid_memory/_C*.so mmvid_memory/.mim
