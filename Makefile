# Poruch — two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DB_URL ?= sqlite+aiosqlite:///data/socialbot.sqlite3

.PHONY: demo demo-staff test setup check lint typecheck pytest locales locales-update locales-check bench migrate clean browser-tools console lock

# Every dependency comes from the lock, pinned and checked against its sha256 hashes
# (pip refuses anything else); the package itself is built with the locked setuptools.
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
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
	$(VENV)/bin/hadolint --failure-threshold info Dockerfile

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck

# The console's browser tests: Debian's chromium + chromium-driver and axe-core (npm package).
browser-tools:
	scripts/browser-tools

pytest: setup browser-tools
	scripts/with-postgres env PORUCH_REQUIRE_POSTGRES=1 $(PY) -m pytest -q $(PYTEST_ARGS)

test: setup check pytest  ## the whole suite, SQLite and PostgreSQL

# BENCH_ARGS picks benchmarks by name (throughput latency delivery memory); BENCH_QUICK=1
# is a short run that checks the setups work, not the numbers (docs/benchmarks.md).
bench: setup  ## speed and memory, as ratios (not part of make test)
	scripts/with-postgres $(PY) -m benchmarks $(BENCH_ARGS)

# Refresh both locks from pyproject.toml with the newest versions it allows, resolved on
# PyPI alone (docs/deployment.md, "Dependencies"). Review the diff, then `make test`.
PIP_COMPILE := env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
	.lock-venv/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links --build-deps-for=editable

lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet pip-tools==7.6.2
	$(PIP_COMPILE) --output-file=requirements.lock pyproject.toml
	$(PIP_COMPILE) --extra=dev --output-file=requirements-dev.lock pyproject.toml
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data/*.sqlite3* artefacts .cache
	find locales -name '*.mo' -delete
