# Juhui — `make run` serves the site, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi
PORT ?= 5000

.PHONY: run test install translations fonts extract-messages lint bench mutants screenshots clean

run: install
	$(FLASK) db upgrade
	$(FLASK) demo
	WEBHOOK_ALLOW_PRIVATE=1 $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/python -m pytest

install: $(STAMP) translations fonts

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Juhui needs Python 3.11 or newer (found $$($(PYTHON) --version))."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

translations: $(STAMP)
	$(BIN)/pybabel -q compile -d planner/translations

# The CJK typeface of the share posters (fetched, pinned by checksum: scripts/fetch_fonts.sh).
fonts:
	scripts/fetch_fonts.sh

# Refresh the catalogues after changing user-facing strings, then translate the new msgids.
extract-messages: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -o planner/translations/messages.pot .
	$(BIN)/pybabel -q update -N -i planner/translations/messages.pot -d planner/translations

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .mypy_cache

# Benchmarks never run inside `make test`. Writes bench/results/report.md (docs/performance.md).
bench: install
	$(BIN)/python -m bench.run_all

# Mutation testing never runs inside `make test` (SQLite only, one worker). See docs/quality.md.
mutants: install
	env -u TEST_DATABASE_URL $(BIN)/mutmut run --max-children 1
	$(BIN)/mutmut results --all true

# The README's gallery (docs/screenshots/), from a seeded branch in headless Chromium.
screenshots: install
	JUHUI_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -p no:randomly \
		tests/e2e/test_pages_fit.py -k gallery
