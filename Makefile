# The two commands: `make book` builds the site, `make test` runs every test.
# Both create .venv (if absent) and install the pinned set from requirements.lock.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.kaigai-installed
PIP_VERSION := 26.3

.PHONY: book test lint lock clean snapshot benchmark

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required (found " + sys.version.split()[0] + "): set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## book: build the static site into _build/html, executing every chapter; any warning or error fails
book: $(STAMP)
	$(BIN)/jupyter-book build . -n -W --keep-going

## test: the whole test suite, including a build of the book
test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check kaigai_lib tests benchmarks

## snapshot: regenerate synthetic_data/ (the test suite checks it is identical)
snapshot: $(STAMP)
	$(BIN)/python -m kaigai_lib.snapshot synthetic_data

benchmark: $(STAMP)
	$(BIN)/python benchmarks/generate_national.py

## lock: re-pin requirements.lock from the current environment
lock: $(STAMP)
	{ echo "# Exact versions the book and tests are built with (Python 3.11). Regenerate with 'make lock'."; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v -E '^(pip|setuptools|wheel)=='; } > requirements.lock

clean:
	rm -rf _build
