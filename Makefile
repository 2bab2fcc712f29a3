# The two commands a user needs: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CYPHER_LINT := tools/cypher-lint
NPM_STAMP := $(CYPHER_LINT)/node_modules/.installed
# Neo4j 5.26 Community from Maven Central jars (tools/neo4j/): the launcher's classpath
NEO4J_TOOL := tools/neo4j
NEO4J_CLASSPATH := $(NEO4J_TOOL)/target/classpath.txt

.PHONY: run serve test lint cypher-lint browser wrk neo4j neo4j-test format bench crash-test fuzz clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Neo4j's Cypher linter, pinned in tools/cypher-lint/package-lock.json
$(NPM_STAMP): $(CYPHER_LINT)/package.json $(CYPHER_LINT)/package-lock.json
	cd $(CYPHER_LINT) && npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

# Neo4j's jars (tools/neo4j/.m2, git-ignored, about 160 MB) and the launcher, compiled, with the
# classpath it starts with: what a fresh clone needs before tests can start a real Neo4j
$(NEO4J_CLASSPATH): $(NEO4J_TOOL)/pom.xml $(shell find $(NEO4J_TOOL)/src -name '*.java' 2>/dev/null)
	$(NEO4J_TOOL)/run --build
	touch $(NEO4J_CLASSPATH)

# development: logs as text lines for a terminal unless IDGRAPH_LOG_FORMAT says otherwise
run: $(STAMP)
	IDGRAPH_LOG_FORMAT=$${IDGRAPH_LOG_FORMAT:-text} $(BIN)/idgraph serve

# Production (docs/operations.md, "Running in production"): the same server, shaped by the environment
# (HOST, PORT, IDGRAPH_STORE, IDGRAPH_WORKERS, IDGRAPH_THREADS...), never in local open mode:
# behind a reverse proxy on the same machine every client would come from loopback.
serve: $(STAMP)
	@test -n "$$IDGRAPH_ADMIN_TOKEN" || { echo "make serve: set IDGRAPH_ADMIN_TOKEN (e.g. \$$(openssl rand -hex 32)); see docs/operations.md 'Running in production'" >&2; exit 2; }
	$(BIN)/idgraph serve

# The suite in TEST_WORKERS processes (pytest-xdist), a test file to a process, each starting a
# Neo4j of its own; serially when NEO4J_URI names one database for all (they would erase each
# other's data). The fuzz test runs on its own: its operations are tests of one name, of which
# xdist would run one. --durations lists the slowest, to keep the suite under 15 minutes.
TEST_WORKERS ?= $(if $(NEO4J_URI),0,2)
FUZZ_TEST := tests/e2e/test_fuzz.py
test: $(STAMP) $(NEO4J_CLASSPATH) lint cypher-lint browser wrk
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=20 --ignore=$(FUZZ_TEST)
	$(BIN)/python -m pytest $(FUZZ_TEST)

# Chromium for the lineage viewer's browser test (tests/e2e/test_viewer.py), from the distro:
# Playwright drives it and never downloads a browser. Without it that test skips, saying why
# (on CI, where .ci/run sets CI, it fails).
browser:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium) \
		|| echo "make browser: WARNING: could not install chromium; tests/e2e/test_viewer.py will skip" >&2

# wrk, a load generator in C, for benchmarks/reads.py (and its smoke test in
# tests/e2e/test_benchmarks.py): Python clients on the same 2 cores measure themselves
wrk:
	@command -v wrk >/dev/null || (apt-get update && apt-get install -y --no-install-recommends wrk)

lint: $(STAMP)
	$(BIN)/ruff check app graph tests benchmarks
	$(BIN)/ruff format --check app graph tests benchmarks

# every cypher/**/*.cypher against the model and the parameters each file declares
cypher-lint: $(NPM_STAMP)
	node tools/lint_cypher.js

# A real Neo4j 5.26 Community on bolt://127.0.0.1:7687 in the foreground until Ctrl-C or SIGTERM,
# without Docker (user neo4j; data in var/neo4j). NEO4J_PORT, NEO4J_PASSWORD, NEO4J_DATA,
# NEO4J_HEAP and NEO4J_PAGECACHE change it (tools/neo4j/run says how):
#   make neo4j    # then, in another terminal:
#   NEO4J_URI=bolt://127.0.0.1:7687 NEO4J_PASSWORD=idgraph-dev-password make neo4j-test
# Its settings are those a deployment that must erase sets (docs/storage.md, "Erasure on
# Neo4j"; the same as the tests' ERASURE_SETTINGS in tests/neo4j_server.py): a purge leaves the
# transaction logs about a second after it commits, not 2 days later. Safe for development:
# Neo4j never prunes the logs its recovery needs, and no backup reads them here.
NEO4J_ERASURE_SETTINGS := --setting 'db.tx_log.rotation.retention_policy=1 files' \
	--setting db.tx_log.rotation.size=128k --setting db.checkpoint.interval.time=1s
neo4j: $(NEO4J_CLASSPATH)
	exec $(NEO4J_TOOL)/run $(NEO4J_ERASURE_SETTINGS)

# The contract, API and analytics suites against a real Neo4j 5 (neo4j-parametrized tests
# only). It ERASES the database it is given; `make neo4j` (above) or `docker compose up neo4j`
# starts a local one:
#   NEO4J_URI=neo4j://localhost:7687 NEO4J_PASSWORD=idgraph-dev-password make neo4j-test
neo4j-test: $(STAMP)
	@test -n "$(NEO4J_URI)" || { echo "make neo4j-test: set NEO4J_URI (and NEO4J_PASSWORD) to a Neo4j 5 server whose database may be erased" >&2; exit 2; }
	$(BIN)/python -m pytest tests/contract tests/api tests/e2e/test_analytics.py -k "neo4j or test_analytics"

format: $(STAMP)
	$(BIN)/ruff check --fix app graph tests benchmarks
	$(BIN)/ruff format app graph tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/resolve.py
	$(BIN)/python benchmarks/dialects.py
	$(BIN)/python benchmarks/lineage.py

# Nothing acknowledged is lost: SIGKILLs the real server (master and workers) 20 times under
# concurrent writes and checks every acknowledged request; figures in benchmarks/README.md.
crash-test: $(STAMP)
	$(BIN)/python benchmarks/crash.py

# Bad input never breaks the service: schemathesis against the real server, every operation of
# /openapi.json, many more examples than `make test` runs and its coverage phase (boundary
# values of every parameter); prints the figures (benchmarks/README.md). Raise or lower
# FUZZ_EXAMPLES (generated examples per operation, on top of the coverage phase's).
FUZZ_EXAMPLES ?= 300
fuzz: $(STAMP)
	IDGRAPH_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) IDGRAPH_FUZZ_COVERAGE=1 \
		$(BIN)/python -m pytest tests/e2e/test_fuzz.py -s -p no:cacheprovider

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis .ruff_cache $(CYPHER_LINT)/node_modules \
		$(NEO4J_TOOL)/.m2 $(NEO4J_TOOL)/target
