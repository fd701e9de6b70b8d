# Two commands for a newcomer: `make run` (build everything) and `make test`. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Run history persists here between runs (telemetry off in .dagster_home/dagster.yaml).
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: install run test dev bench clean-outputs

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

run: install
	$(BIN)/ai-readiness build

test: install
	$(BIN)/pytest -q

dev: install
	$(BIN)/dagster dev -h 127.0.0.1

bench: install
	$(BIN)/python bench/run_all.py

clean-outputs:
	rm -rf data/marts/.build data/marts/.releases data/marts/current data/marts/ai_readiness.duckdb \
		data/marts/parquet data/marts/report data/marts/docs data/marts/data_docs
