# One command per job. `make run` and `make test` are the README's two commands.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
CONFIG ?= hookline.yaml

.PHONY: install run test unit lint fmt typecheck bench screenshots clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## Start Hookline on SQLite with the sample config (written on first run).
run: install
	@test -f $(CONFIG) || $(BIN)/hookline init $(CONFIG)
	$(BIN)/hookline check -c $(CONFIG)
	$(BIN)/hookline run -c $(CONFIG)

## The whole suite: lint, types, then every test (unit, integration, acceptance, crash).
test: install lint typecheck
	$(BIN)/python -m pytest

unit: install
	$(BIN)/python -m pytest tests/unit -q

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

fmt: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: install
	$(BIN)/mypy

## Ingest, delivery, end-to-end latency and memory vs a bare baseline (needs wrk).
bench: install
	@command -v wrk >/dev/null || (apt-get update -q && apt-get install -y -q wrk)
	$(BIN)/python bench/run.py --postgres $${HOOKLINE_BENCH_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}

## Re-take the dashboard screenshots in docs/screenshots (headless Chromium, browser tests).
screenshots: install
	HOOKLINE_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/e2e -q -k Tour

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
