#!/bin/sh
# The deploy runbook of docs/deploy.md, every command in order. The doc quotes this file and
# tests/deploy/test_runbook.py runs it against an empty PostgreSQL. One step at a time, from
# the checkout, with the environment docs/deploy.md describes:
#
#     sh docs/deploy-runbook.sh STEP [more arguments for the step's command]
#
# First deploy: roles, bootstrap, reviewer, packages, plan, release, migrate, check, static,
# verify, serve.
# Every later deploy: plan, release (and packages after a dependency upgrade), migrate, static,
# verify, then restart serve.
# signoff APP MIGRATION signs off one migration: e.g. by a second reviewer, the ones that the
# release's reviewer wrote, before that reviewer runs release for the rest.
set -eu
PY=${PY:-.venv/bin/python}
step=${1:-help}
[ $# -gt 0 ] && shift
case "$step" in
reviewer | packages | release | signoff)
    : "${REVIEWER:?set REVIEWER to the reviewer's username}"
    ;;
esac
# The gate's steps (bootstrap, packages, plan, release, signoff, migrate, verify) need
# GATE_SIGNING_KEY and GATE_AUDIT_ANCHOR from this shell; the application never holds them.

case "$step" in
roles)
    # The owner role (DATABASE_MIGRATE_URL), the app role (DATABASE_URL), the database, the
    # grants. DATABASE_ADMIN_URL, a superuser's URL, is needed by this step only.
    "$PY" manage.py create_db_roles "$@"
    ;;
bootstrap)
    # Empty database only: the migration gate and row-level security, unsigned and audited.
    "$PY" manage.py migrate_secure --bootstrap "$@"
    ;;
reviewer)
    : "${REVIEWER_EMAIL:?set REVIEWER_EMAIL to the reviewer's email}"
    # The first reviewer: a superuser holds "Can sign off a migration" (gate.signoff_migration).
    "$PY" manage.py createsuperuser --username "$REVIEWER" --email "$REVIEWER_EMAIL" "$@"
    ;;
packages)
    # One review of every pending migration of installed packages (Django, guardian, axes),
    # bound to each package's version and each file's SHA-256. Read the list it prints.
    "$PY" manage.py signoff_packages --reviewer "$REVIEWER" "$@"
    ;;
plan)
    # What is pending, its sign-off state and lint findings; exit 1 while anything is missing.
    "$PY" manage.py migrate_secure --plan "$@" || true
    ;;
release)
    # One review, one password, of every pending migration of the project's own apps, by a
    # reviewer who is not a git author of any of them. Read the list it prints (hash, lint
    # findings); each file gets its own signed sign-off, bound to its SHA-256.
    "$PY" manage.py signoff_release --reviewer "$REVIEWER" "$@"
    ;;
signoff)
    # One of the project's own migrations, by a reviewer who is not one of its git authors.
    "$PY" manage.py signoff_migration "$@" --reviewer "$REVIEWER"
    ;;
migrate)
    # Applies only when every pending migration has a valid sign-off; else applies nothing.
    "$PY" manage.py migrate_secure --noinput "$@"
    ;;
check)
    # Deployment settings; connects as the app role: it must not bypass row-level security.
    # Checked as the application runs: without the gate's key and anchor.
    unset GATE_SIGNING_KEY GATE_AUDIT_ANCHOR
    "$PY" manage.py check --deploy --database default "$@"
    ;;
static)
    # Static files into STATIC_ROOT, which whitenoise serves from the app.
    "$PY" manage.py collectstatic --noinput "$@"
    ;;
verify)
    # The audit log is intact: its hash chain, its head against GATE_AUDIT_ANCHOR, every run
    # finished, every sign-off signed with the gate key.
    "$PY" manage.py migrate_secure --verify-audit "$@"
    ;;
serve)
    # gunicorn with proone/gunicorn.conf.py (threads: idle clients cannot block it). The portal
    # never holds the gate's key: whoever holds it can forge a migration sign-off.
    unset GATE_SIGNING_KEY GATE_AUDIT_ANCHOR
    exec "$PY" -m gunicorn -c proone/gunicorn.conf.py "$@"
    ;;
*)
    echo "usage: sh docs/deploy-runbook.sh roles|bootstrap|reviewer|packages|plan|release|signoff|migrate|check|static|verify|serve" >&2
    exit 2
    ;;
esac
