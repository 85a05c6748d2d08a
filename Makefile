# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean teams-package

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
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot integrations storage migrations tests
	$(BIN)/mypy

# The Teams app package: manifest.json and its two icons at the root of a zip (only Python needed).
teams-package:
	mkdir -p dist
	python3 -c 'import sys, zipfile; from pathlib import Path; \
	z = zipfile.ZipFile(sys.argv[1], "w"); \
	[z.writestr(zipfile.ZipInfo(Path(f).name, (1980, 1, 1, 0, 0, 0)), Path(f).read_bytes(), \
	 zipfile.ZIP_DEFLATED) for f in sys.argv[2:]]; z.close()' dist/goalnudge-teams.zip \
	  manifests/teams/manifest.json manifests/teams/color.png manifests/teams/outline.png

clean:
	rm -rf $(VENV) goalnudge-demo.db* .pytest_cache
