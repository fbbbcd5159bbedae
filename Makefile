# Quick start:  make run   (gateway in the foreground, demo partners, data under var/)
#               make test  (ruff, mypy, pytest)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest check-config bench clean

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

STRICT := gateway/x12 gateway/as2 gateway/payers gateway/config.py gateway/profiles.py gateway/errors.py

typecheck: $(STAMP)
	$(BIN)/mypy gateway
	$(BIN)/mypy --strict $(STRICT)

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python scripts/bench_sftp.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
