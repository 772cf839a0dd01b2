# Quick start: `make run` serves the site with demo data on 127.0.0.1:8000,
# `make test` runs the tests. Both create the virtualenv .venv on first use.

PYTHON ?= python3
VENV ?= .venv
PY = $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run setup serve test bench clean-venv

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

setup: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py setup_demo

# Serve with gunicorn and a django-q cluster (ADQM_WORKERS processes); Ctrl-C stops both.
serve: $(VENV)/.installed
	@echo "AutoDQM site: http://$(HOST):$(PORT)/  (log in as demo / demo to start comparisons)"
	@mkdir -p var
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	$(PY) manage.py qcluster & \
	$(VENV)/bin/gunicorn autodqm_site.wsgi --bind $(HOST):$(PORT) --workers 2 --timeout 120 \
		--control-socket $(CURDIR)/var/gunicorn.ctl --access-logfile - & \
	wait

run: setup serve

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

# The benchmark stores its comparison in PostgreSQL: DATABASE_URL when set,
# else a fresh autodqm_bench database on 127.0.0.1 (user postgres), else SQLite.
bench: $(VENV)/.installed
	@export ADQM_VAR=$${ADQM_VAR:-var/bench}; \
	if [ -z "$$DATABASE_URL" ] && pg_isready -h 127.0.0.1 -q 2>/dev/null; then \
		psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS autodqm_bench" postgres && \
		psql -h 127.0.0.1 -U postgres -q -c "CREATE DATABASE autodqm_bench" postgres && \
		export DATABASE_URL=postgres://postgres@127.0.0.1:5432/autodqm_bench; \
	fi; \
	$(PY) manage.py migrate --noinput -v0 && $(PY) manage.py bench $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV)
