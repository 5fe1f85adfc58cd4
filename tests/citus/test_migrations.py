"""Citus: migration divisions 0034 distributes a cluster's existing DataScope changes and
access reviews with every row. It runs as the owner with no principal, while the changes are
forced under row-level security on their owner too: Citus would refuse to copy them into the
shards ("COPY FROM not supported with row-level security") unless 0034 lifts that force for the
move.

The test database is past 0034 and 0034 has no reverse on a cluster, so this test sets up a
database of its own on the cluster's nodes, as docs/citus-runbook.sh sets one up (create_db_roles
on every node, citus_nodes), migrates it to 0033, writes a change and a review there as the
nodes' superuser, migrates it on, and drops it from every node.

Runs only on the cluster of tests/citus_cluster.py; elsewhere it is skipped, and says so."""

import os
from urllib.parse import unquote, urlsplit

import psycopg
import pytest
from django.conf import settings

from tests.citus_cluster import manage
from tests.cluster import COORDINATOR, ON_CLUSTER, PASSFILE, WORKERS
from tests.pg_setup import owner_url
from tests.postgres_server import url_with

pytestmark = [pytest.mark.postgres, ON_CLUSTER]

DATABASE = "proone_upgrade"


def node_url(port, database="postgres"):
    """A node's superuser URL: its password is read from the password file."""
    return f"postgres://postgres@127.0.0.1:{port}/{database}?passfile={PASSFILE}"


def superuser(port, database):
    return psycopg.connect(node_url(port, database), autocommit=True)


def drop_everywhere():
    for port in (COORDINATOR, *WORKERS):
        with superuser(port, "postgres") as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


@pytest.fixture
def upgrade_env():
    """manage.py's environment for DATABASE on the cluster, with the test database's roles."""
    app = settings.DATABASES["default"]
    owner = owner_url()
    parts = urlsplit(owner)
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
        DATABASE_URL=url_with(owner, app["USER"], app["PASSWORD"], DATABASE),
        DATABASE_MIGRATE_URL=url_with(owner, parts.username, unquote(parts.password), DATABASE),
    )
    drop_everywhere()
    try:
        yield env
    finally:
        drop_everywhere()


def test_0034_distributes_the_changes_and_reviews_already_recorded(upgrade_env):
    """A tenant with a scope, a recorded change of it and an access review, written before
    0034: after it, both tables are distributed and both rows are there."""
    env = upgrade_env
    manage(env, "create_db_roles", DATABASE_ADMIN_URL=node_url(COORDINATOR))
    for port in WORKERS:
        manage(env, "create_db_roles", DATABASE_ADMIN_URL=node_url(port))
    workers = [f"127.0.0.1:{port}" for port in WORKERS]
    manage(env, "citus_nodes", *workers, DATABASE_ADMIN_URL=node_url(COORDINATOR))
    migrate = {"DATABASE_URL": env["DATABASE_MIGRATE_URL"]}
    manage(env, "migrate", "divisions", "0033", "--noinput", "--skip-checks", **migrate)
    with superuser(COORDINATOR, DATABASE) as connection:
        (tenant,) = connection.execute(
            "INSERT INTO divisions_tenant (name, slug) VALUES ('Acme', 'acme') RETURNING id"
        ).fetchone()
        (scope,) = connection.execute(
            "INSERT INTO divisions_datascope (tenant_id, is_everyone, created_at, updated_at) "
            "VALUES (%s, false, now(), now()) RETURNING id",
            [tenant],
        ).fetchone()
        connection.execute(
            "INSERT INTO divisions_datascopechange "
            "(tenant_id, datascope_id, changed_by_name, changed_at, before, after) "
            "VALUES (%s, %s, 'an admin', now(), '{}', '{}')",
            [tenant, scope],
        )
        connection.execute(
            "INSERT INTO divisions_accessreview "
            "(tenant_id, reviewed_by_name, reviewed_at, matrix) "
            "VALUES (%s, 'an admin', now(), '{}')",
            [tenant],
        )
    manage(env, "migrate", "--noinput", "--skip-checks", **migrate)
    with superuser(COORDINATOR, DATABASE) as connection:
        distributed = {
            table
            for (table,) in connection.execute(
                "SELECT logicalrelid::regclass::text FROM pg_dist_partition"
            )
        }
        assert {"divisions_datascopechange", "divisions_accessreview"} <= distributed
        for table in ("divisions_datascopechange", "divisions_accessreview"):
            assert connection.execute(f"SELECT count(*) FROM {table}").fetchone() == (1,)
        (forced,) = connection.execute(
            "SELECT relforcerowsecurity FROM pg_class "
            "WHERE oid = 'divisions_datascopechange'::regclass"
        ).fetchone()
        assert forced
