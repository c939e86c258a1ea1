# One command to run the app with demo data (make run), one to run every test (make test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: setup setup-run prerequisites assets translations db run test test-fast test-sqlite \
	test-postgres lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Running needs only the app's dependencies; the test tools come on top for the tests.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed: $(VENV)/.installed-run
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup-run: $(VENV)/.installed-run assets translations

setup: setup-run $(VENV)/.installed

# Debian's chromium and nginx-light (and PostgreSQL running) for the tests: installed
# when possible, or one message saying which command to run.
prerequisites:
	bash scripts/test-prerequisites

# Front-end assets come from the npm registry (pinned in package-lock.json) at set-up.
assets: package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	mkdir -p booking/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js booking/static/vendor/htmx.min.js
	cp node_modules/htmx-ext-sse/dist/sse.min.js booking/static/vendor/htmx-ext-sse.min.js
	cp node_modules/altcha/dist/external/altcha.min.js booking/static/vendor/altcha.js
	cp node_modules/altcha/dist/external/altcha.css booking/static/vendor/altcha.css
	cp node_modules/altcha/dist/workers/pbkdf2.js booking/static/vendor/altcha-pbkdf2.js

translations: $(VENV)/.installed-run
	$(BIN)/pybabel compile -d booking/translations

# seed-demo prints the URL of every screen and, in development, the demo staff logins.
db: setup-run
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo

run: db
	QUEUE_ALWAYS_OPEN=1 $(BIN)/flask run --host 127.0.0.1 --port 5000

# --no-skips: a skipped test fails the run (a missing Chromium or nginx cannot hide tests);
# tests for the other database are deselected, not skipped.
PYTEST := $(BIN)/pytest -q -p no:cacheprovider --no-skips

# The quick round while working: SQLite, without real gunicorn servers and Chromium.
test-fast: prerequisites setup
	$(PYTEST) --db sqlite -m "not server and not browser"

test-sqlite: prerequisites setup
	$(PYTEST) --db sqlite

test-postgres: prerequisites setup
	$(PYTEST) --db postgresql

test: prerequisites setup lint
	$(PYTEST) --db sqlite
	$(PYTEST) --db postgresql

lint: $(VENV)/.installed
	$(BIN)/ruff check booking tests bench wsgi.py

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) node_modules booking/static/vendor instance
