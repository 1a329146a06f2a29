# Poruch — two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DB_URL ?= sqlite+aiosqlite:///data/socialbot.sqlite3

.PHONY: demo demo-staff test setup check lint typecheck pytest locales locales-update locales-check bench migrate clean browser-tools console

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) locales

locales: $(STAMP)  ## compile the translation catalogs (.po → .mo)
	$(PY) -m bot.i18n_tools compile

locales-update: $(STAMP)  ## extract new strings from the code into every catalog
	$(PY) -m bot.i18n_tools update

locales-check: $(STAMP)
	$(PY) -m bot.i18n_tools check

migrate: setup
	DATABASE_URL=$(DB_URL) $(PY) -m bot migrate

# In the demo the terminal person is staff, so the Staff menu can be tried too.
DEMO_ENV := DATABASE_URL=$(DB_URL) STAFF_IDS=terminal:demo,terminal:staff DEMO_TRANSCRIPT=data/demo-deliveries.log

demo: setup  ## the bot in the terminal, on the embedded SQLite database
	$(DEMO_ENV) $(PY) -m bot migrate
	$(DEMO_ENV) $(PY) -m bot demo-data
	@echo "Staff web console: type /console in the chat for a sign-in link, then run"
	@echo "  make console   (in another terminal) and open the link."
	$(DEMO_ENV) $(PY) -m bot chat --user demo

console: setup  ## the staff web console on the demo database (http://127.0.0.1:8080/console)
	$(DEMO_ENV) $(PY) -m bot console

# A second terminal, while `make demo` runs: a staff member answering "Ask a specialist".
demo-staff: setup  ## a staff member's terminal chat, beside `make demo`
	$(DEMO_ENV) $(PY) -m bot migrate
	$(DEMO_ENV) $(PY) -m bot chat --user staff

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck

# The console's browser tests: Debian's chromium + chromium-driver and axe-core (npm package).
browser-tools:
	scripts/browser-tools

pytest: setup browser-tools
	scripts/with-postgres env PORUCH_REQUIRE_POSTGRES=1 $(PY) -m pytest -q $(PYTEST_ARGS)

test: setup check pytest  ## the whole suite, SQLite and PostgreSQL

bench: setup  ## speed and memory, as ratios (not part of make test)
	scripts/with-postgres $(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data/*.sqlite3* artefacts .cache
	find locales -name '*.mo' -delete
