# `make compare` and `make test` set up .venv themselves (Python 3.12, see .python-version).
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
CONFIG ?= configs/compare_designs.yaml
OUT ?= results/compare_designs
ARGS ?=

.PHONY: setup compare test lint bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

# --resume: finish an interrupted study, or just rebuild the report of a finished one.
compare: setup
	$(VENV)/bin/salesim run $(CONFIG) --out $(OUT) --resume $(ARGS)

lint: setup
	$(VENV)/bin/ruff check src tests experiments benchmarks
	$(VENV)/bin/ruff format --check src tests experiments benchmarks

test: lint
	$(VENV)/bin/pytest -q

bench: setup
	$(PY) benchmarks/bench_model.py
