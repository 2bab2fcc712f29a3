# The two commands a user needs: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/idgraph serve

test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check app graph tests benchmarks
	$(BIN)/ruff format --check app graph tests benchmarks

format: $(STAMP)
	$(BIN)/ruff check --fix app graph tests benchmarks
	$(BIN)/ruff format app graph tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/resolve.py
	$(BIN)/python benchmarks/dialects.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis .ruff_cache
