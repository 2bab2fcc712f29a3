# The two commands a user needs: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CYPHER_LINT := tools/cypher-lint
NPM_STAMP := $(CYPHER_LINT)/node_modules/.installed

.PHONY: run test lint cypher-lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Neo4j's Cypher linter, pinned in tools/cypher-lint/package-lock.json
$(NPM_STAMP): $(CYPHER_LINT)/package.json $(CYPHER_LINT)/package-lock.json
	cd $(CYPHER_LINT) && npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

run: $(STAMP)
	$(BIN)/idgraph serve

test: $(STAMP) lint cypher-lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check app graph tests benchmarks
	$(BIN)/ruff format --check app graph tests benchmarks

# every cypher/**/*.cypher against the model and the parameters each file declares
cypher-lint: $(NPM_STAMP)
	node tools/lint_cypher.js

format: $(STAMP)
	$(BIN)/ruff check --fix app graph tests benchmarks
	$(BIN)/ruff format app graph tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/resolve.py
	$(BIN)/python benchmarks/dialects.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis .ruff_cache $(CYPHER_LINT)/node_modules
