# lendwatch — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= sources.toml

.PHONY: run test lint typecheck pytest bench clean

$(BIN)/lendwatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/lendwatch
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/lendwatch
	$(BIN)/lendwatch --config $(CONFIG) daemon

test: $(VENV)/.test-deps lint typecheck pytest

lint: $(VENV)/.test-deps
	$(BIN)/ruff check pipeline tests benchmarks scripts
	$(BIN)/ruff format --check pipeline tests benchmarks scripts

typecheck: $(VENV)/.test-deps
	$(BIN)/mypy

pytest: $(VENV)/.test-deps
	$(BIN)/pytest

bench: $(VENV)/.test-deps
	$(BIN)/python benchmarks/bench_classify.py
	$(BIN)/python benchmarks/bench_feeds.py
	$(BIN)/python benchmarks/bench_fetch.py --feeds 200

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build
