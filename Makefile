# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/goalnudge demo

test: $(STAMP)
	$(BIN)/ruff check bot integrations storage migrations tests
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot integrations storage migrations tests

clean:
	rm -rf $(VENV) goalnudge-demo.db* .pytest_cache
