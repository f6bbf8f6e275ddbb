# Two commands from a fresh clone: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The validated versions (docs/validation.md): every install of the project's dependencies goes through it.
CONSTRAINTS := constraints.txt
PACKAGES := api schema resolvers records policies subscriptions twin device-bridge/device_bridge demo
MATRIX := docs/traceability.md
# pytest-xdist workers for `make test`: each has its own PostgreSQL, stores and ports (tests/conftest.py).
PYTEST_WORKERS ?= 2


.PHONY: validate
.PHONY: demo test lint typecheck migrations-check matrix bench system-deps clean frontend frontend-typecheck \
	frontend-codegen \
	constraints bench-peer bench-workers soak

FRONTEND_SRC := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html frontend/explorer.html \
	frontend/vite.config.ts frontend/tsconfig.json
NODE_STAMP := frontend/node_modules/.installed

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e '.[dev]'
	touch $(STAMP)

# After a dependency change in pyproject.toml (or an upgrade in .venv): pin what .venv now runs, and
# the table of docs/validation.md. tests/test_install.py fails while either is stale.
constraints: $(STAMP)
	$(BIN)/python -m tests.test_install

system-deps:
	@bash scripts/system-deps.sh

# The browser app: npm packages once per lockfile, a Vite build into api/static/ when a source changed.
$(NODE_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

api/static/index.html: $(NODE_STAMP) $(FRONTEND_SRC)
	cd frontend && npm run build

frontend: api/static/index.html

frontend-typecheck: $(NODE_STAMP)
	cd frontend && npm run typecheck

# After a schema change: frontend/schema.graphql and the query types in frontend/src/api/generated.ts.
frontend-codegen: $(STAMP) $(NODE_STAMP)
	cd frontend && npm run codegen

demo: $(STAMP) frontend
	$(BIN)/plasmatwin demo $(DEMO_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check $(PACKAGES) tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy $(PACKAGES)

migrations-check: $(STAMP)
	$(BIN)/python -m records.migrate

# pytest exits 5 when it collects nothing: that is a failure of the suite, not a pass.
# The run rewrites the traceability matrix from the req marks, so it is never stale; a run narrowed by
# PYTEST_ARGS (paths, -k, -m, --deselect) leaves it as it is (tests/req_matrix.py).
test: $(STAMP) system-deps lint typecheck migrations-check frontend-typecheck frontend
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --req-matrix $(MATRIX) --durations=30 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

# The validation package (docs/validation/, not committed): the whole suite with its results per requirement,
# the environment's exact versions and the audit-evidence package of a freshly seeded demo store.
validate: $(STAMP) system-deps frontend
	mkdir -p var/validation
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --req-matrix $(MATRIX) --junitxml=var/validation/junit.xml \
		$(PYTEST_ARGS); $(BIN)/python -m tests.validation_report --junit var/validation/junit.xml \
		--out docs/validation --rc $$? --evidence

# The matrix alone, from a collection without running the tests.
matrix: $(STAMP)
	$(BIN)/python -m pytest --collect-only -q --req-matrix $(MATRIX) >/dev/null
	@head -5 $(MATRIX) | tail -1

bench: $(STAMP)
	$(BIN)/python -m bench

# PlasmaTwin and PostGraphile 5 on the same PostgreSQL under wrk (bench/peer.py); installs wrk (apt) and
# Node 22 with PostGraphile into var/bench-peer/, and skips loudly when it cannot. BENCH_PEER_SECONDS per round.
bench-peer: $(STAMP)
	@bash scripts/bench-peer-deps.sh
	$(BIN)/python -m bench.peer

# Read req/s of `plasmatwin serve --workers 1` and `--workers 2` side by side (bench/workers.py): PostgreSQL,
# Redis and wrk on this machine; BENCH_WORKERS_SECONDS per round, BENCH_WORKERS_QUERIES which queries.
bench-workers: $(STAMP)
	$(BIN)/python -m bench.workers

# The server SIGKILLed while signed writes and readings are in flight, restarted, checked: SOAK_CYCLES kills
# (default 10), with the counts of acknowledged and stored writes and readings per cycle.
soak: $(STAMP)
	PLASMATWIN_CRASH_CYCLES=$${SOAK_CYCLES:-10} $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_crash_safety.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache frontend/node_modules api/static
