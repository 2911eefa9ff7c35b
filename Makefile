# lendwatch — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= sources.toml

KERNEL := pipeline/classify/_kernel.pyx

.PHONY: run test lint typecheck pytest bench build clean

$(BIN)/lendwatch: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@ $(VENV)/.kernel

$(VENV)/.test-deps: $(BIN)/lendwatch
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The compiled classifier kernel, rebuilt whenever its source changes (the classifier refuses a
# stale one and falls back to pure Python, which tests/test_kernel.py reports).
$(VENV)/.kernel: $(KERNEL) $(BIN)/lendwatch
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

build: $(VENV)/.kernel

run: $(BIN)/lendwatch $(VENV)/.kernel
	$(BIN)/lendwatch --config $(CONFIG) daemon

test: $(VENV)/.test-deps $(VENV)/.kernel lint typecheck pytest

lint: $(VENV)/.test-deps
	$(BIN)/ruff check pipeline tests benchmarks scripts setup.py
	$(BIN)/ruff format --check pipeline tests benchmarks scripts setup.py

typecheck: $(VENV)/.test-deps
	$(BIN)/mypy

pytest: $(VENV)/.test-deps $(VENV)/.kernel
	$(BIN)/pytest

bench: $(VENV)/.test-deps $(VENV)/.kernel
	$(BIN)/python benchmarks/bench_classify.py
	$(BIN)/python benchmarks/bench_fetch.py --feeds 200

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build pipeline/classify/_kernel.c \
		pipeline/classify/_kernel.*.so
