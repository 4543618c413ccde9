# Klaxon: `make run` serves on SQLite with the example rules; `make test` runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export KLAXON_CONFIG ?= deploy/klaxon.example.yaml
KLAXON_ONCALL ?= deploy/oncall.example.yaml

.PHONY: install run test lint bench openapi migrate clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

migrate: install
	$(BIN)/klaxon migrate

run: install migrate
	$(BIN)/klaxon apply -f $(KLAXON_ONCALL)
	$(BIN)/klaxon serve --dev

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider --ignore=tests/perf -n 2 --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check app tests
	$(BIN)/mypy app tests

bench: install
	$(BIN)/python -m tests.perf $(BENCH_ARGS)

openapi: install
	$(BIN)/python -m app.openapi > openapi/openapi.json

clean:
	rm -rf $(VENV) klaxon.db klaxon.db-wal klaxon.db-shm .klaxon
