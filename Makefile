# Set-up and checks of the course. `make lab` and `make test` do every
# set-up step themselves (venv, pip, npm) and are fast when already done.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PY_OK  := $(VENV)/.installed
JS_OK  := node_modules/.installed

# TensorFlow's C++ logging goes to the process's stderr: silence it at the
# source for every kernel the targets below start.
export TF_CPP_MIN_LOG_LEVEL := 3
# Running the lessons records no exercise answer in the home folder (course_lib.progress).
test unit nbval notebooks: export COURSE_LIB_PROGRESS := $(or $(TMPDIR),/tmp)/course-lib-make-progress.json

NBVAL := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg \
         --nbval-cell-timeout=600
# pytest-xdist: one worker per core (WORKERS=0 runs in one process). A file goes whole to
# one worker (--dist loadfile): a notebook's cells share one kernel, and a module's fixtures
# (a browser lesson's run, a trained model) are made once. The files go out in the order
# conftest.py gives them, the longest first (--no-loadscope-reorder).
WORKERS ?= auto
XDIST   := -n $(WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: setup lab test unit nbval notebooks bench stress data lock clean browser

setup: $(PY_OK) $(JS_OK)

$(PY_OK): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	$(BIN)/python -m pip check
	@touch $@

$(JS_OK): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## browser: install Debian's chromium and playwright for the tests in tests/browser
browser: setup
	bash .ci/install-browser.sh

## lab: set everything up, then open JupyterLab on the lessons
# JupyterLab refuses to run as root unless told (containers, JupyterHub images).
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)
lab: setup
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks/

## test: unit tests, doctests, the browser tests and nbval on every notebook, in one pytest
## run spread over the cores (WORKERS=N to choose, WORKERS=0 for one process)
test: setup
	$(BIN)/python -m pytest $(XDIST) --doctest-modules course_lib tests notebooks $(NBVAL)

unit: setup
	$(BIN)/python -m pytest $(XDIST) --doctest-modules course_lib tests

nbval: setup
	$(BIN)/python -m pytest $(XDIST) notebooks $(NBVAL)

## notebooks: re-execute every lesson (or NB=notebooks/NN_x.ipynb) in place, storing outputs and widget state
NB ?= notebooks/[0-9][0-9]_*.ipynb
notebooks: setup
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.store_widget_state=True \
	  --ExecutePreprocessor.record_timing=False \
	  --ExecutePreprocessor.timeout=600 \
	  $(NB)

## bench: import time, inference, TF.js (wasm, cpu) against Keras, the registry, each notebook's
## nbval time against the floor, and make test with its workers against one worker
## (BENCH_AGAINST=<commit>: that commit's suite too, first)
BENCH_AGAINST ?=
bench: setup
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_inference.py
	$(BIN)/python benchmarks/bench_tfjs.py
	$(BIN)/python benchmarks/bench_registry.py
	$(BIN)/python benchmarks/bench_notebooks.py
	$(BIN)/python benchmarks/bench_suite.py $(if $(BENCH_AGAINST),--against $(BENCH_AGAINST))

## stress: the registry killed, raced and written by 6 processes at once, in a temporary folder
## (about 2.5 minutes; STRESS="--quick" for about 30 s); prints cases, handled, lost per area
STRESS ?=
stress: setup
	$(BIN)/python benchmarks/stress_registry.py $(STRESS)

## data: regenerate the fraud snapshot (the tests check it is byte-identical)
data: setup
	$(BIN)/python -c "from course_lib import data; print(data.write_fraud_snapshot('data/fraud_transactions.csv.gz'))"

## lock: re-pin constraints.txt from a fresh resolve (then run make test from a clean clone)
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade "pip>=24"
	.lock-venv/bin/python -m pip install --quiet -e ".[test]"
	{ echo "# Exact versions that install and import together (Python 3.11, Linux, CPU)."; \
	  echo "# Regenerate with: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) node_modules .pytest_cache
