# The two commands: `make book` builds the site, `make test` runs every test.
# Both create .venv (if absent) and install the pinned set from requirements.lock,
# and install the site's browser assets (MathJax, require.js, the widget manager)
# from the npm packages pinned in tools/web/package-lock.json (npm ci), so the
# site serves them itself and works with no internet.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.kaigai-installed
PIP_VERSION := 26.3
NPM    ?= npm
WEB    := tools/web
WEB_STAMP := $(WEB)/node_modules/.kaigai-installed
# SOLUTIONS=show (default: the public site, solutions in dropdowns) or SOLUTIONS=hide
# (a course build for trainees: no solution anywhere in the site)
SOLUTIONS ?= show
# pyfixest demeans fixed effects in an order that follows Python's hash seed, so standard errors move in
# their 7th digit from run to run; a fixed seed makes the book and the tests the same bit for bit
export PYTHONHASHSEED ?= 0
# KAIGAI_REPOSITORY=owner/name (GitHub) in the environment turns on the Colab buttons and lets the
# downloadable notebooks install kaigai_lib from that repository; unset, the book builds without them.

.PHONY: book book-en book-ja gettext update-po test test-fast lint lock clean snapshot benchmark serve lab

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required (found " + sys.version.split()[0] + "): set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	@command -v $(NPM) >/dev/null || { echo "npm (Node.js >= 18) is required to install the site's browser assets (tools/web)"; exit 1; }
	cd $(WEB) && $(NPM) ci --ignore-scripts --no-audit --no-fund
	touch $(WEB_STAMP)

## book: build the static site into _build/html, executing every chapter; any warning or error fails.
##       `make book SOLUTIONS=hide` builds the course edition without solutions.
##       Both editions: English in _build/html/, Japanese (日本語版, catalogs in locales/ja/) in
##       _build/html/ja/, which re-uses the English build's execution cache (no chapter runs twice).
book: book-en book-ja

HIDE := KAIGAI_HIDE_SOLUTIONS=$(if $(filter hide,$(SOLUTIONS)),1,0)

book-en: $(STAMP) $(WEB_STAMP)
	@case "$(SOLUTIONS)" in show|hide) ;; *) echo "SOLUTIONS must be show or hide (got '$(SOLUTIONS)')"; exit 1;; esac
	$(HIDE) $(BIN)/jupyter-book build . -n -W --keep-going

# the Japanese edition is built beside (its own doctrees in _build/ja/) and copied into the English site
book-ja: book-en
	$(HIDE) KAIGAI_LANGUAGE=ja KAIGAI_EXECUTION_CACHE=_build/.jupyter_cache \
	  $(BIN)/jupyter-book build . -n -W --keep-going --path-output _build/ja
	rm -rf _build/html/ja && cp -a _build/ja/_build/html _build/html/ja

## gettext: extract every page's messages into _build/i18n/_build/gettext/*.pot, with the glued words read
##          from the English build's execution cache (run after `make book`: it then runs no chapter), and
##          the texts the built site's widgets show into widgets.pot
gettext: $(STAMP)
	KAIGAI_EXECUTION_CACHE=_build/.jupyter_cache \
	  $(BIN)/jupyter-book build . --builder custom --custom-builder gettext --path-output _build/i18n
	$(BIN)/python tools/kaigai_i18n.py widgets-pot _build/html _build/i18n/_build/gettext/widgets.pot

## update-po: merge the extracted messages into locales/ja/LC_MESSAGES/*.po (sphinx-intl): new messages
##            arrive untranslated, changed ones fuzzy; translate them, then `make book`
update-po: gettext
	$(BIN)/sphinx-intl update --pot-dir _build/i18n/_build/gettext --locale-dir locales --language ja --line-width 100

## test: the whole test suite, including builds of the book and browser tests of the site
test: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m pytest

## test-fast: every test but the book builds and the browser tests (the inner loop; CI runs it on every push)
test-fast: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m pytest -m "not book and not browser"

## lab: open JupyterLab on the chapters (right-click notebooks/*.md › Open With › Notebook; jupytext saves back)
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=. notebooks

## serve: serve the built site on http://127.0.0.1:8000 (it needs no internet)
serve:
	$(or $(wildcard $(BIN)/python),$(PYTHON)) -m http.server --bind 127.0.0.1 --directory _build/html 8000

lint: $(STAMP)
	$(BIN)/ruff check kaigai_lib tests benchmarks tools/kaigai_site.py

## snapshot: regenerate synthetic_data/ (the test suite checks it is identical)
snapshot: $(STAMP)
	$(BIN)/python -m kaigai_lib.world.snapshot synthetic_data

benchmark: $(STAMP)
	$(BIN)/python benchmarks/generate_national.py

## lock: re-pin requirements.lock from the current environment
lock: $(STAMP)
	{ echo "# Exact versions the book and tests are built with (Python 3.11). Regenerate with 'make lock'."; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v -E '^(pip|setuptools|wheel)=='; } > requirements.lock

clean:
	rm -rf _build
