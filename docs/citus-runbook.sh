#!/bin/sh
# The first deploy of ProOne on an empty Citus cluster, every command in order (docs/deploy.md,
# "On a Citus cluster"); tests/citus/test_runbook.py runs it against the cluster of the Citus
# test pass. One step at a time, from the checkout, with docs/deploy.md's environment, where
# DATABASE_URL and DATABASE_MIGRATE_URL name the coordinator:
#
#     sh docs/citus-runbook.sh STEP [more arguments for the step's command]
#
# Before: every node (the coordinator and each worker) runs PostgreSQL 15 with Citus installed
# and shared_preload_libraries = 'citus', and its server process reaches the other nodes as the
# owner and the app roles: their passwords in that server's libpq password file (~/.pgpass of
# the postgres user, or PGPASSFILE), beside the superuser's, for every node's name and for
# the node's own (citus.local_hostname, localhost by default: a node may connect to itself).
# First deploy: roles on every worker, then roles on the coordinator, workers, then bootstrap,
# reviewer, packages, plan, release, migrate (it distributes the tenant-owned tables), distributed,
# check, static, verify, serve: docs/deploy-runbook.sh's steps, all against the coordinator.
# Every later deploy: docs/deploy-runbook.sh's, against the coordinator.
set -eu
PY=${PY:-.venv/bin/python}
step=${1:-help}
[ $# -gt 0 ] && shift

case "$step" in
roles)
    # On every node, DATABASE_ADMIN_URL its superuser's URL: the same owner and app roles with
    # the same passwords (DATABASE_MIGRATE_URL's and DATABASE_URL's), the database, the
    # grants, and the citus extension in that database.
    "$PY" manage.py create_db_roles "$@"
    ;;
workers)
    # On the coordinator (DATABASE_ADMIN_URL): add the workers, HOST:PORT each, and keep the
    # functions that choose a distributed transaction's id or send commands to the workers to
    # the owner, and on each worker leave the app role only what Citus calls there
    # (docs/scaling.md, "Citus", item 5); again after adding a worker or upgrading Citus.
    # --coordinator HOST:PORT when the workers reach the coordinator by another
    # address than DATABASE_ADMIN_URL's.
    "$PY" manage.py citus_nodes "$@"
    ;;
distributed)
    # After migrate: the nodes and the distributed tables (pg_dist_partition); fails unless
    # jobs, notes, DataScope changes and access reviews are distributed by tenant_id, every
    # worker answers, no worker grants the app role more than the workers step leaves it, and
    # every worker's Citus has docs/citus-transaction-id.patch (docs/scaling.md, "Citus",
    # item 6).
    "$PY" manage.py citus_nodes --check "$@"
    ;;
bootstrap | reviewer | packages | plan | release | signoff | migrate | check | static | verify | serve)
    # The migration gate and the portal as on one server: DDL goes through the coordinator,
    # which sends it on to the workers; the gate's lock, audit and sign-offs live there.
    exec sh docs/deploy-runbook.sh "$step" "$@"
    ;;
*)
    echo "usage: sh docs/citus-runbook.sh roles|workers|bootstrap|reviewer|packages|plan|release|signoff|migrate|distributed|check|static|verify|serve" >&2
    exit 2
    ;;
esac
