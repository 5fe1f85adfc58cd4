# ProOne: `make run` serves the demo portal; `make test` runs every test. See README.md.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: run serve test lint format test-sqlite test-postgres test-citus test-browser-deps test-pgbouncer-deps clean bench

$(VENV)/.run-deps: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml $(VENV)/.run-deps
	$(PIP) install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.run-deps
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	@echo "ProOne is starting: sign in at http://127.0.0.1:8000/accounts/login/ (Ctrl-C stops it)"
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

# The production configuration (docs/deploy.md) on this machine, against a deployed PostgreSQL:
# DEBUG off, check --deploy, collectstatic, gunicorn with proone/gunicorn.conf.py. Plain HTTP on
# 127.0.0.1, so no HTTPS redirect.
serve: $(VENV)/.run-deps
	@test -n "$$DATABASE_URL" || { echo "make serve needs DATABASE_URL=postgres://... of a deployed database (docs/deploy.md)" >&2; exit 2; }
	@test -n "$$SECRET_KEY" || { echo "make serve needs SECRET_KEY (docs/deploy.md)" >&2; exit 2; }
	DEBUG=0 SECURE_SSL_REDIRECT=0 PY=$(PY) sh docs/deploy-runbook.sh check
	DEBUG=0 SECURE_SSL_REDIRECT=0 PY=$(PY) sh docs/deploy-runbook.sh static
	@echo "ProOne (production configuration) is starting on http://$${GUNICORN_BIND:-127.0.0.1:8000}/ (Ctrl-C stops it)"
	DEBUG=0 SECURE_SSL_REDIRECT=0 PY=$(PY) sh docs/deploy-runbook.sh serve

# Chromium for the browser tests comes from Debian's packages; installing needs root.
test-browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "*** Chromium is missing and this is not root: BROWSER TESTS WILL BE SKIPPED ***"; \
	  fi; \
	fi

# PgBouncer for the connection-pooling test comes from Debian's packages too.
test-pgbouncer-deps:
	@if [ ! -x /usr/sbin/pgbouncer ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing PgBouncer for the connection-pooling test..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; \
	  else \
	    echo "*** PgBouncer is missing and this is not root: THE PGBOUNCER POOLING TEST WILL BE SKIPPED ***"; \
	  fi; \
	fi

lint: $(VENV)/.test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DEBUG=1 $(PY) manage.py makesqlmigration --check

format: $(VENV)/.test-deps
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test-sqlite: $(VENV)/.test-deps test-browser-deps
	$(PY) -m pytest

# The whole suite again on a throwaway PostgreSQL 15 (row-level security), as the app role.
# PROONE_TEST_POSTGRES_URL=postgres://superuser@host/postgres uses that server instead.
test-postgres: $(VENV)/.test-deps test-browser-deps test-pgbouncer-deps
	$(PY) tests/postgres_server.py

# On a Citus cluster (a coordinator and two workers, jobs distributed by tenant): tests/citus/,
# and the suites that hold the rule there too: the visibility oracle's property tests (ORM, raw
# SQL, and the list's pages and CSV export), the app-role attack suites, the API's property test, seed_demo's worlds (make
# bench seeds the cluster with it), and the migration gate's CLI, lock, in-process and
# access-review tests (DDL through the coordinator; docs/citus-runbook.sh).
# An installed Citus, or one built from CITUS_SRC (a Citus source tarball, or a folder holding
# one) into the installed PostgreSQL 15 (as root). Without either it prints
# `*** CITUS PASS SKIPPED: <why> ***` and succeeds.
CITUS_TESTS = tests/citus tests/jobs/test_rule_property.py tests/divisions/test_rls.py \
	tests/divisions/test_rls_attacks.py tests/jobs/test_write_attacks.py \
	tests/jobs/test_notes_rls.py tests/api/test_api_property.py tests/demo/test_scale.py \
	tests/demo/test_world.py tests/gate/test_postgres_cli.py tests/gate/test_postgres_lock.py \
	tests/gate/test_gate_inprocess.py tests/gate/test_access_review_postgres.py \
	tests/jobs/test_sort_export.py tests/jobs/test_list_fuzz.py \
	tests/divisions/test_rls_access_review.py tests/divisions/test_rls_scope_changes.py \
	tests/divisions/test_access_matrix.py tests/divisions/test_admin_scope.py \
	tests/divisions/test_admin_concurrency.py tests/divisions/test_scope_history.py
test-citus: $(VENV)/.test-deps
	$(PY) tests/citus_cluster.py $(CITUS_TESTS)

# Every pass runs even when an earlier one fails; any failure fails `make test`.
test: lint
	@status=0; \
	$(MAKE) --no-print-directory test-sqlite || status=1; \
	$(MAKE) --no-print-directory test-postgres || status=1; \
	$(MAKE) --no-print-directory test-citus || status=1; \
	exit $$status

# --- benchmarks (not part of `make test`) ---------------------------------------------------
# A throwaway PostgreSQL, a generated world (BENCH_JOBS jobs, default a million), the list query
# scoped against unscoped, pages, title search, django-guardian, the CSV export, load through
# gunicorn against its unscoped floor (direct and via PgBouncer) and with reads on a hot
# standby, the write rule's policies against one policy for every command, and the same world
# on a Citus cluster beside the single node (benchmarks/citus.py); writes docs/benchmarks.md.
# About 10 minutes at a million jobs on 2 cores without the citus part, which takes about 13
# more (6 of them its cluster's seed_demo: multi-row INSERTs there).
BENCH_JOBS ?= 1000000
bench: $(VENV)/.test-deps
	BENCH_JOBS=$(BENCH_JOBS) $(PY) -m benchmarks.run
# --- end benchmarks ---------------------------------------------------------------------------

clean:
	rm -rf $(VENV) db.sqlite3 artifacts .pytest_cache .hypothesis
