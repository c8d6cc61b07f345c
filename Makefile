# The two commands: `make run` starts everything on the embedded default, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test lint format loadtest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/sdc db upgrade
	$(BIN)/sdc seed
	$(BIN)/sdc serve

# --dist worksteal: the 56 fuzz tests take 20-70 s each and come last; under the default `load`
# scheduling one worker was left with most of them while the other sat idle for ~20 minutes of
# a 35-minute run (2026-12-07). worksteal lets an idle worker take half of the other's queue.
test: install
	$(BIN)/python -m pytest -n 2 --dist worksteal $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check sdc tasks tests bench loadtest migrations infra
	$(BIN)/ruff format --check sdc tasks tests bench loadtest migrations infra

format: install
	$(BIN)/ruff format sdc tasks tests bench loadtest
	$(BIN)/ruff check --fix sdc tasks tests bench loadtest

bench: install
	$(BIN)/python bench/simulation.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Load test (issue 8): `make loadtest`, `make loadtest SOAK=600`, `make loadtest FAULT=1`.
# Starts gunicorn + consumers (+ PostgreSQL scratch database and a private Redis when
# available), runs locust, writes docs/load-test-results.{json,md}, fails on a missed budget.
SOAK ?=
FAULT ?=
LOADTEST_ARGS ?=
loadtest: install
	$(BIN)/python -m loadtest.run $(if $(SOAK),--soak $(SOAK)) $(if $(FAULT),--fault) $(LOADTEST_ARGS)
