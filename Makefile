# Quick start:  make run   (gateway in the foreground, demo partners, data under var/)
#               make test  (ruff, mypy, pytest)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: native run test test-postgres lint typecheck pytest pytest-postgres-subset check-config bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	$(BIN)/python scripts/build_native.py
	touch $(STAMP)

# The claim path compiled with mypyc (gateway/_native.py): rebuilt when one of its sources
# changed (a stale build is never used: the gateway checks the manifest's hashes at import).
# A failed build warns once and leaves pure Python. GATEWAY_PURE=1 runs pure Python anyway.
NATIVE_SOURCES := $(shell sed -n 's/^    "gateway\.x12\.\([a-z_0-9]*\)",$$/gateway\/x12\/\1.py/p' gateway/_native.py)
NATIVE := gateway/_native_manifest.json

$(NATIVE): $(STAMP) $(NATIVE_SOURCES) gateway/_native.py scripts/build_native.py
	$(BIN)/python scripts/build_native.py

native: $(NATIVE)

run: $(STAMP) $(NATIVE)
	$(BIN)/gateway run

check-config: $(STAMP) $(NATIVE)
	$(BIN)/gateway check-config

lint: $(STAMP)
	$(BIN)/ruff check gateway tests scripts twisted
	$(BIN)/ruff format --check gateway tests scripts twisted

STRICT := gateway/x12 gateway/as2 gateway/caqh gateway/payers gateway/config.py gateway/profiles.py gateway/errors.py \
          gateway/_native.py

typecheck: $(STAMP)
	$(BIN)/mypy gateway
	$(BIN)/mypy --strict $(STRICT)

# PostgreSQL for the tests (tests/dbs.py: a fresh schema per test, dropped after it). `make test`
# runs the whole suite on SQLite, then the store-using subset below on PostgreSQL when the server
# answers (and says so when it does not); `make test-postgres` runs the whole suite on it.
GATEWAY_TEST_DATABASE ?= postgresql://postgres@127.0.0.1:5432/test
PG_SUBSET := tests/store tests/pipeline tests/e2e/test_store_backend.py tests/test_validate.py \
             tests/test_trace.py tests/test_cli.py
PG_PROBE = $(BIN)/python -c "import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=3).close()" \
           "$(GATEWAY_TEST_DATABASE)" 2>/dev/null

# the suite on the compiled claim path (when built), then the byte-exact answers and the
# tests that patch module internals again as pure Python
# the fast checks' sweep of 100k+ probes against the reference generator runs once, compiled
PURE_SKIP := not one_element_probes
PURE_TESTS := tests/x12/test_answers_unchanged.py tests/test_native.py tests/x12/test_frontend.py \
              tests/x12/test_ig_session.py tests/x12/test_ig_fastcheck.py tests/x12/test_streaming.py

pytest: $(STAMP) $(NATIVE)
	GATEWAY_TEST_DATABASE= $(BIN)/pytest -q
	GATEWAY_PURE=1 GATEWAY_TEST_DATABASE= $(BIN)/pytest -q $(PURE_TESTS) -k "$(PURE_SKIP)"
	@$(MAKE) --no-print-directory pytest-postgres-subset

pytest-postgres-subset: $(STAMP)
	@if $(PG_PROBE); then \
	    echo "PostgreSQL at $(GATEWAY_TEST_DATABASE): the store tests again on it ($(PG_SUBSET))"; \
	    GATEWAY_TEST_DATABASE="$(GATEWAY_TEST_DATABASE)" $(BIN)/pytest -q $(PG_SUBSET); \
	else \
	    echo "SKIPPED: the PostgreSQL pass (no server answers at $(GATEWAY_TEST_DATABASE);"; \
	    echo "         set GATEWAY_TEST_DATABASE=postgresql://... or start one). SQLite only."; \
	fi

test-postgres: lint typecheck $(NATIVE)
	@$(PG_PROBE) || { echo "error: no PostgreSQL answers at $(GATEWAY_TEST_DATABASE)" >&2; exit 2; }
	GATEWAY_TEST_DATABASE="$(GATEWAY_TEST_DATABASE)" $(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP) $(NATIVE)
	$(BIN)/python scripts/bench_sftp.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache build/native $(NATIVE)
	rm -f gateway_native__mypyc.*.so gateway/x12/*.so
