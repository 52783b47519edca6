# CNPERP Banking: `make run` to try it, `make test` to test it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
PORT ?= 8010
DEV_ENV := DJANGO_DEBUG=1

.PHONY: install run test test-sqlite lint format bench serve clean mariadb schema

$(STAMP): requirements.txt
	bin/ensure-system-packages
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## Set everything up on SQLite, load the demo company, print a login, serve on :8010.
run: install
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py load_demo
	$(DEV_ENV) $(PY) manage.py create_api_user admin --superuser --reset-password
	@echo "Serving on http://localhost:$(PORT)/admin/  (API docs: http://localhost:$(PORT)/docs)"
	$(DEV_ENV) $(PY) manage.py runserver 0.0.0.0:$(PORT)

mariadb:
	bin/ensure-mariadb

## The test suite against MariaDB at 127.0.0.1:3306 (or the database DATABASE_URL names).
test: install
	@bin/ensure-system-packages --browser
	@if [[ -z "$${DATABASE_URL:-}" || "$${DATABASE_URL}" == mysql* ]]; then bin/ensure-mariadb; fi
	$(PY) -m pytest $(PYTEST_ARGS)

## The suite on the embedded SQLite default (tests that need MariaDB are skipped).
test-sqlite: install
	@bin/ensure-system-packages --browser
	DATABASE_URL=sqlite:///$(CURDIR)/var/test.sqlite3 $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

schema: install
	$(DEV_ENV) $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

## Production serving: gunicorn on :8010, 2 x CPUs + 1 workers, admin static files through whitenoise.
## Needs DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and DATABASE_URL in the environment (or .env).
serve: install
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py check --deploy
	$(VENV)/bin/gunicorn --config cnperp/gunicorn.conf.py

bench: install mariadb
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var staticfiles db.sqlite3 .pytest_cache .ruff_cache
