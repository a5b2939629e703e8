# gridgov: `make demo` and `make test` are all a newcomer needs.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# PostgreSQL used by `make test` for its second run (the test database is created and dropped).
PG_URL ?= postgres://postgres@127.0.0.1:5432/gridgov
PYTEST_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install browser demo serve test test-sqlite test-pg bench screenshots fuzz messages clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml package.json package-lock.json
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	npm ci --no-audit --no-fund --loglevel=error
	./scripts/vendor_assets.sh
	touch $@

# Debian's Chromium (and CJK fonts) for the browser tests; never a browser download.
browser:
	@command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || { \
		echo "installing Debian's chromium and fonts-noto-cjk"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

demo: install
	$(BIN)/gridgov migrate --noinput
	$(BIN)/gridgov demo --if-empty
	$(BIN)/gridgov serve --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/gridgov serve --host $(HOST) --port $(PORT)

# The full suite on SQLite, then on PostgreSQL when a server answers at PG_URL.
# GRIDGOV_REQUIRE_PG=1 (set by CI) makes a missing PostgreSQL an error instead of a notice.
test: test-sqlite test-pg

test-sqlite: install browser
	env -u DATABASE_URL $(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-pg: install browser
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)'.replace('/gridgov','/postgres'), connect_timeout=3).close()" 2>/dev/null; then \
		echo "== PostgreSQL: $(PG_URL)"; \
		DATABASE_URL=$(PG_URL) $(BIN)/pytest -n 2 $(PYTEST_ARGS); \
	elif [ "$$GRIDGOV_REQUIRE_PG" = "1" ]; then \
		echo "PostgreSQL is required but does not answer at $(PG_URL)"; exit 1; \
	else \
		echo "== PostgreSQL not reachable at $(PG_URL): skipped the PostgreSQL run (set PG_URL)"; \
	fi

# Refresh docs/screenshots/ from the browser tests.
screenshots: install browser
	GRIDGOV_SCREENSHOTS=1 env -u DATABASE_URL $(BIN)/pytest -p no:xdist -m browser $(PYTEST_ARGS)

# schemathesis over every operation of /api/openapi.json against `gridgov serve --no-worker` on a
# scratch database (small demo street, a leader's session): no 5xx, no response-schema violation.
FUZZ_EXAMPLES ?= 20
fuzz: install
	$(BIN)/python scripts/fuzz.py --max-examples $(FUZZ_EXAMPLES)

# The English catalogues (docs/architecture.md, "Languages"): collect the marked strings into
# gridgov/locale/en/LC_MESSAGES/{django,djangojs}.po and compile the .mo files that are committed
# (so that installing needs no gettext). Run it, translate the new empty msgstr entries, run it
# again. Needs GNU gettext, installed with apt when missing.
MESSAGES_ARGS := -l en --add-location=file --no-obsolete --ignore 'web/static/vendor/*' --ignore '*/tests/*'
messages: install
	@command -v msgfmt >/dev/null || { echo "installing Debian's gettext"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq gettext >/dev/null; }
	cd gridgov && GRIDGOV_DATA_DIR=$(CURDIR)/var PYTHONPATH=$(CURDIR) $(abspath $(BIN))/gridgov makemessages -d django $(MESSAGES_ARGS)
	cd gridgov && GRIDGOV_DATA_DIR=$(CURDIR)/var PYTHONPATH=$(CURDIR) $(abspath $(BIN))/gridgov makemessages -d djangojs $(MESSAGES_ARGS)
	cd gridgov && GRIDGOV_DATA_DIR=$(CURDIR)/var PYTHONPATH=$(CURDIR) $(abspath $(BIN))/gridgov compilemessages -l en

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf var .pytest_cache
