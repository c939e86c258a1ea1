# One command to run the app with demo data (make run), one to run every test (make test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: setup assets translations db run test test-fast test-sqlite test-postgres lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed assets translations

# Front-end assets come from the npm registry (pinned in package-lock.json) at set-up.
assets: package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	mkdir -p booking/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js booking/static/vendor/htmx.min.js
	cp node_modules/htmx-ext-sse/dist/sse.min.js booking/static/vendor/htmx-ext-sse.min.js

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d booking/translations

db: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo

run: db
	QUEUE_ALWAYS_OPEN=1 $(BIN)/flask run --host 127.0.0.1 --port 5000

# The quick round while working: SQLite, without real gunicorn servers and Chromium.
test-fast: setup
	$(BIN)/pytest -q -p no:cacheprovider --db sqlite -m "not server and not browser"

test-sqlite: setup
	$(BIN)/pytest -q -p no:cacheprovider --db sqlite

test-postgres: setup
	$(BIN)/pytest -q -p no:cacheprovider --db postgresql

test: setup lint
	$(BIN)/pytest -q -p no:cacheprovider --db sqlite
	$(BIN)/pytest -q -p no:cacheprovider --db postgresql

lint: $(VENV)/.installed
	$(BIN)/ruff check booking tests bench wsgi.py

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) node_modules booking/static/vendor instance
