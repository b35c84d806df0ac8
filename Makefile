# `make compare` and `make test` set up .venv themselves (Python 3.12, see .python-version);
# `make test` also installs Chromium for the browser test (tools/install-browser.sh).
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
CONFIG ?= configs/switch.yaml
OUT ?= results/switch
ARGS ?=

.PHONY: setup browser compare test lint bench

$(VENV)/.installed: pyproject.toml
	@echo "setting up $(VENV): installing salesim and the packages it needs (first time only, a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

browser:
	@bash tools/install-browser.sh

# --resume: finish an interrupted study, or just rebuild the report of a finished one.
compare: setup
	$(VENV)/bin/salesim run $(CONFIG) --out $(OUT) --resume $(ARGS)

lint: setup
	$(VENV)/bin/ruff check src tests experiments benchmarks
	$(VENV)/bin/ruff format --check src tests experiments benchmarks

# Two workers (pytest-xdist): the suite's tests are independent (own tmp dirs, free ports).
test: lint browser
	$(VENV)/bin/pytest -q -n 2

bench: setup
	$(PY) benchmarks/bench_model.py
	$(PY) benchmarks/bench_startup.py
