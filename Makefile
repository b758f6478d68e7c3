# Hearth's tasks. The README names two: `make run` and `make test`.
# The set-up steps are incremental: a second run only redoes what changed.

SHELL := /bin/bash
.DEFAULT_GOAL := run

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Production installs only the runtime packages: make setup REQUIREMENTS=requirements.txt
REQUIREMENTS ?= requirements-dev.txt
VENV_STAMP := $(VENV)/.installed-$(basename $(notdir $(REQUIREMENTS)))
NODE_STAMP := node_modules/.installed
HTMX := app/static/vendor/htmx.min.js
CATALOGS := $(wildcard app/i18n/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test e2e bench bench-faults setup assets translations i18n db lint constraints clean

## The virtualenv, with every Python package pinned (constraints.txt pins the transitive ones too).
setup: $(VENV_STAMP)

$(BIN)/python:
	@test -n "$(PYTHON)" && $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Hearth needs Python 3.11 (python3.11, or python3 at 3.11 or newer, on the PATH)."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV_STAMP): requirements.txt $(REQUIREMENTS) constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(REQUIREMENTS) -c constraints.txt
	touch $@

## Re-pin the transitive versions after changing a requirements file.
constraints: $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	{ echo "# Every installed Python package, pinned (make constraints rewrites this file)."; \
	  $(BIN)/python -m pip freeze --exclude-editable | LC_ALL=C sort -f; } > constraints.txt

## Front-end files from the npm registry (htmx for the app, axe-core for the browser tests).
assets: $(HTMX)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to fetch the front-end files (Debian: apt-get install nodejs npm)."; exit 1; }
	npm ci --include=dev --no-audit --no-fund --loglevel=error
	touch $@

$(HTMX): $(NODE_STAMP)
	mkdir -p $(dir $@)
	cp node_modules/htmx.org/dist/htmx.min.js $@

## Interface translations: compile each catalog that changed (none yet is fine).
translations: $(COMPILED)

app/i18n/%/LC_MESSAGES/messages.mo: app/i18n/%/LC_MESSAGES/messages.po $(VENV_STAMP)
	$(BIN)/pybabel compile -f -d app/i18n -l $* -i $< -o $@

## Collect the marked strings into messages.pot and merge them into every catalog.
i18n: $(VENV_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
		--add-comments=TRANSLATORS: --sort-by-file --project=Hearth \
		-o app/i18n/messages.pot app
	@if [ -n "$(CATALOGS)" ]; then $(BIN)/pybabel update -i app/i18n/messages.pot -d app/i18n; \
	else echo "No catalogs to update yet (start one with: $(BIN)/pybabel init -i app/i18n/messages.pot -d app/i18n -l pl)."; fi

## The database schema (SQLite under instance/ unless DATABASE_URL is set).
db: $(VENV_STAMP)
	@if [ -d migrations ]; then $(FLASK) db upgrade; \
	else echo "No migrations/ folder yet: skipping the database upgrade."; fi

## Set everything up, make the demo school, and serve on http://127.0.0.1:5000 (PORT overrides).
run: setup assets translations db
	$(FLASK) demo
	$(FLASK) run --host 127.0.0.1 --port $${PORT:-5000}

## Every test: unit, web and browser journeys (TEST_DATABASE_URL=postgresql://... for PostgreSQL).
test: setup assets translations
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

## Only the browser journeys.
e2e: setup assets translations
	$(BIN)/python -m pytest -n auto tests/e2e $(PYTEST_ARGS)

## Benchmarks (not tests). First the features: page weight, the points pages on an empty and a full
## school year, a phone photo through the media pipeline, the Class Story feed with 5 years of posts,
## portfolios, messaging and notifications. Then issue 10's goals table (benchmarks/production.py):
## bytes, queries and server time on the demo and a large school, throughput against a bare route
## and a 200-user load run on gunicorn + PostgreSQL + Redis, memory and sizes on disk.
## Needs PostgreSQL (BENCH_POSTGRES_URL) and redis-server; about 15 minutes on 2 cores.
bench: setup assets translations
	status=0; \
	for b in page_weight points_scale media_pipeline story_feed portfolio_scale messaging notifications production; do \
		$(BIN)/python -m benchmarks.$$b || status=1; \
	done; exit $$status

## Faults survived: a worker killed mid-request, PostgreSQL restarted, Redis stopped, a hanging
## translation provider (benchmarks/faults.py; restarts the local PostgreSQL cluster).
bench-faults: setup assets translations
	$(BIN)/python -m benchmarks.faults

lint: setup
	$(BIN)/ruff check app tests

## Remove what the other targets built (instance/, with your database, is kept).
clean:
	rm -rf $(VENV) node_modules app/static/vendor test-artifacts .pytest_cache .ruff_cache
	find app tests -name __pycache__ -type d -prune -exec rm -rf {} +
