# Médiation numérique — two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
export FLASK_APP := mediation

.PHONY: install install-dev demo serve test test-sqlite test-postgres lint check-migrations browser ob-validator ob3-verifier bench loadtest fault clean

## Two installs: what the app needs to run (make demo), then the test tools (make test). pip's own
## output goes to instance/install.log (shown only when it fails), so that the console of make demo
## is the list of accounts.
INSTALL_LOG := instance/install.log
$(VENV)/.installed: pyproject.toml
	@mkdir -p instance
	@echo "Installation de l'application dans $(VENV)… (journal : $(INSTALL_LOG))"
	@{ $(PYTHON) -m venv $(VENV) && \
	   $(BIN)/pip install -q --disable-pip-version-check --upgrade pip && \
	   $(BIN)/pip install -q --disable-pip-version-check -e . ; } >$(INSTALL_LOG) 2>&1 || { cat $(INSTALL_LOG); exit 1; }
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	@echo "Installation des outils de test… (journal : $(INSTALL_LOG))"
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]' >>$(INSTALL_LOG) 2>&1 || { cat $(INSTALL_LOG); exit 1; }
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make demo: install what the app needs (with the Open Badges validator of the verification page),
## migrate the embedded SQLite database (or DATABASE_URL), load the demo, print the accounts, serve.
## Set-up and server logs go to instance/*.log.
demo: install ob-validator
	@$(BIN)/flask db upgrade >instance/demo.log 2>&1 || { cat instance/demo.log; exit 1; }
	@$(BIN)/flask demo 2>>instance/demo.log || { cat instance/demo.log; exit 1; }
	@echo "Serveur : http://127.0.0.1:$(PORT) (Ctrl+C pour l'arrêter ; journal : instance/serveur.log)"
	@$(BIN)/flask run --host 127.0.0.1 --port $(PORT) >instance/serveur.log 2>&1

serve: install
	$(BIN)/flask db upgrade
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

## Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; no browser download).
## Installed with apt (through sudo when not root). If that fails: an error in CI, a warning
## locally (the browser tests are then skipped).
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
	  echo "Installation de Chromium (paquet Debian)…"; \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	      chromium fonts-dejavu-core >/dev/null; } || true; \
	  test -x $(CHROMIUM) || { \
	    echo "!! Chromium n'a pas pu être installé ($(CHROMIUM) absent) : les tests navigateur seront ignorés (en CI : erreur)."; \
	    if [ -n "$$CI" ]; then exit 1; fi; }; }

## The Open Badges validator (PyPI openbadges 1.1.2) pins dependencies that conflict with Flask's:
## it lives in its own virtualenv .venv-ob, used by the tests and the verification page through
## mediation/badges/ob_runner.py (a subprocess). Failure: an error in CI, a warning locally (the
## validator tests are then skipped).
OB_VENV := .venv-ob
$(OB_VENV)/.installed:
	@mkdir -p instance
	@echo "Installation du vérificateur Open Badges dans $(OB_VENV)…"
	@{ $(PYTHON) -m venv $(OB_VENV) && \
	   $(OB_VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip && \
	   $(OB_VENV)/bin/pip install -q --disable-pip-version-check openbadges==1.1.2 && \
	   $(OB_VENV)/bin/pip install -q --disable-pip-version-check -U --no-deps "pycryptodome>=3.10" "click>=8.1.3" && \
	   $(OB_VENV)/bin/python -c "import collections, collections.abc; [setattr(collections, n, getattr(collections.abc, n)) for n in ('Mapping', 'MutableMapping', 'Iterable', 'Sequence', 'MutableSet', 'Callable') if not hasattr(collections, n)]; import openbadges" && \
	   touch $@; } >>$(INSTALL_LOG) 2>&1 || { \
	  echo "!! Le vérificateur Open Badges n'a pas pu être installé dans $(OB_VENV) : ses tests seront ignorés (en CI : erreur)."; \
	  if [ -n "$$CI" ]; then exit 1; fi; }

ob-validator: $(OB_VENV)/.installed

## make test: the whole suite on SQLite, then on PostgreSQL when a server answers.
test: install-dev browser ob-validator ob3-verifier
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-postgres

## The independent Open Badges 3.0 verifier of tests/badges/test_ob3.py: node + the npm package
## `jose`, versions locked in package-lock.json, installed by `npm ci` into tests/ob3/node/node_modules
## (the test fixture does it too). Without npm: an error in CI, a warning locally (tests skipped).
OB3_NODE := tests/ob3/node
$(OB3_NODE)/node_modules/.package-lock.json: $(OB3_NODE)/package-lock.json
	@if command -v npm >/dev/null; then \
	  echo "Installation du vérificateur Open Badges 3.0 (npm ci)…"; \
	  cd $(OB3_NODE) && npm ci --no-audit --no-fund --loglevel=error; \
	else \
	  echo "!! npm absent : les badges Open Badges 3.0 ne seront pas vérifiés par node."; \
	  if [ -n "$$CI" ]; then exit 1; fi; \
	fi

ob3-verifier: $(OB3_NODE)/node_modules/.package-lock.json

test-sqlite: install-dev
	@echo "== Suite de tests sur SQLite (base embarquée) =="
	$(BIN)/python -m pytest -q

test-postgres: install-dev
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)', connect_timeout=3).close()" 2>/dev/null; then \
	  echo "== Suite de tests sur PostgreSQL ($(PG_TEST_URL)) =="; \
	  TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q -m "not browser"; \
	else \
	  echo "!! PostgreSQL injoignable sur $(PG_TEST_URL) : la suite PostgreSQL N'A PAS été exécutée."; \
	  if [ -n "$$CI" ]; then exit 1; fi; \
	fi

## Lint: ruff, then the layers of pyproject.toml [tool.importlinter] (README « Architecture »).
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

## Migration drift: the models and the Alembic revisions describe the same schema.
check-migrations: install
	@tmp=$$(mktemp -d); \
	DATABASE_URL=sqlite:///$$tmp/drift.sqlite3 MEDIATION_INSTANCE_PATH=$$tmp $(BIN)/flask db upgrade >/dev/null && \
	DATABASE_URL=sqlite:///$$tmp/drift.sqlite3 MEDIATION_INSTANCE_PATH=$$tmp $(BIN)/flask db check && \
	DATABASE_URL=sqlite:///$$tmp/drift.sqlite3 MEDIATION_INSTANCE_PATH=$$tmp $(BIN)/flask db downgrade base >/dev/null && \
	echo "Migrations : upgrade, check et downgrade OK (SQLite)"; status=$$?; rm -rf $$tmp; exit $$status

bench: install-dev
	$(BIN)/python -m bench

## Load test (locust, loopback, dedicated PostgreSQL database mediation_load): 50 mediators for
## LOADTEST_DURATION seconds (default 60), then every acknowledged write checked in the database.
## LOADTEST_ARGS="--servers 2 --rq": two gunicorn servers behind a round-robin proxy, jobs in RQ workers.
LOADTEST_DURATION ?= 60
LOADTEST_ARGS ?=
loadtest: install-dev
	$(BIN)/python -m loadtest --duration $(LOADTEST_DURATION) $(LOADTEST_ARGS)

## Fault tests: PostgreSQL restarted during the load (French 503s, nothing lost, recovery), and a job
## killed midway (SIGKILL) on SQLite and PostgreSQL. Restarts the local cluster: not in `make test`.
fault: install-dev
	$(BIN)/python -m loadtest --fault --duration $(LOADTEST_DURATION)
	$(BIN)/python -m pytest -q tests/fault
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q tests/fault

clean:
	rm -rf $(VENV) $(OB_VENV) instance .pytest_cache
