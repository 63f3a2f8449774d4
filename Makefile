# Every target creates .venv and installs the project when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: migrate check test lint bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/kitgen migrate

check: $(STAMP)
	$(BIN)/kitgen check

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check kitgen tests
	$(BIN)/mypy --strict kitgen

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet alembic sqlalchemy sqlacodegen
	$(BIN)/python benchmarks/run.py
