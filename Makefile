# Two commands for a newcomer: `make run` (build everything) and `make test`. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Run history persists here between runs (telemetry off in .dagster_home/dagster.yaml).
export DAGSTER_HOME := $(CURDIR)/.dagster_home

# DuckDB 1.x readers for tests/test_bi.py, which opens the published warehouse as BI drivers do: the oldest 1.x that
# reads its storage version (v1.4.0) and the last. Each in its own folder (not the venv, which has DuckDB 2), from
# PyPI, wheels without dependencies.
DUCKDB_1X_READERS := 1.4.0 1.5.6
READERS_DIR := $(VENV)/duckdb-readers

.PHONY: install run test dev bench clean-outputs duckdb-readers

install: $(VENV)/.installed $(READERS_DIR)/.installed

duckdb-readers: $(READERS_DIR)/.installed

$(READERS_DIR)/.installed: Makefile $(VENV)/.installed
	for version in $(DUCKDB_1X_READERS); do \
		$(BIN)/pip install --quiet --no-deps --upgrade --target $(READERS_DIR)/$$version duckdb==$$version || exit 1; \
	done
	touch $@

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

run: install
	$(BIN)/ai-readiness build

# Workers of pytest-xdist (CI has 2 cores). Modules with module-scoped fixtures stay whole on one worker, and the
# expensive session fixtures are made once for all workers (tests/conftest.py, tests/across_workers.py).
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

test: install
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadgroup --durations=15 $(PYTEST_ARGS)

dev: install
	$(BIN)/dagster dev -h 127.0.0.1

bench: install
	$(BIN)/python bench/run_all.py

clean-outputs:
	rm -rf data/marts/.build data/marts/.releases data/marts/current data/marts/ai_readiness.duckdb \
		data/marts/parquet data/marts/report data/marts/docs data/marts/data_docs
