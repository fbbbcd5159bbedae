# Quick start:  make run   (gateway in the foreground, demo partners, data under var/)
#               make test  (ruff, mypy, pytest)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-postgres lint typecheck pytest pytest-postgres-subset check-config bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gateway run

check-config: $(STAMP)
	$(BIN)/gateway check-config

lint: $(STAMP)
	$(BIN)/ruff check gateway tests scripts twisted
	$(BIN)/ruff format --check gateway tests scripts twisted

STRICT := gateway/x12 gateway/as2 gateway/caqh gateway/payers gateway/config.py gateway/profiles.py gateway/errors.py

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

pytest: $(STAMP)
	GATEWAY_TEST_DATABASE= $(BIN)/pytest -q
	@$(MAKE) --no-print-directory pytest-postgres-subset

pytest-postgres-subset: $(STAMP)
	@if $(PG_PROBE); then \
	    echo "PostgreSQL at $(GATEWAY_TEST_DATABASE): the store tests again on it ($(PG_SUBSET))"; \
	    GATEWAY_TEST_DATABASE="$(GATEWAY_TEST_DATABASE)" $(BIN)/pytest -q $(PG_SUBSET); \
	else \
	    echo "SKIPPED: the PostgreSQL pass (no server answers at $(GATEWAY_TEST_DATABASE);"; \
	    echo "         set GATEWAY_TEST_DATABASE=postgresql://... or start one). SQLite only."; \
	fi

test-postgres: lint typecheck
	@$(PG_PROBE) || { echo "error: no PostgreSQL answers at $(GATEWAY_TEST_DATABASE)" >&2; exit 2; }
	GATEWAY_TEST_DATABASE="$(GATEWAY_TEST_DATABASE)" $(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python scripts/bench_sftp.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
