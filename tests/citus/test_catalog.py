"""Citus: the cluster's coordinator holds exactly the Citus variant of the database layer's
source (divisions/database/: the plain files, with citus.sql's objects in place of theirs),
and every worker's shards hold their table's policies and row-level security flags, and the
worker the functions those policies call.

The comparison of tests/divisions/test_database_source.py clears the layer in a transaction
and runs the source there; on the cluster that would reach the distributed tables' shards. So
the stated side is read from a scratch database on the coordinator: the tables of ProOne's
(pg_dump --schema-only), the layer cleared and the variant run there, as the owner. Both sides
are read back by the same catalog queries (divisions/database/catalog.py).

Runs only on the cluster of tests/citus_cluster.py; elsewhere it is skipped, and says so."""

import os
import re
import subprocess

import psycopg
import pytest

from divisions.database import catalog, source
from tests.cluster import COORDINATOR, DISTRIBUTED_TABLES, ON_CLUSTER, PASSFILE, WORKERS
from tests.divisions.test_database_source import differences
from tests.pg_setup import owner_conninfo
from tests.postgres_server import PG_BIN

pytestmark = [
    pytest.mark.postgres,
    ON_CLUSTER,
]

SCRATCH = "proone_catalog_stated"


def superuser(dbname):
    """A connection to the coordinator as the nodes' superuser (password from the password
    file)."""
    return psycopg.connect(
        host="127.0.0.1",
        port=COORDINATOR,
        user="postgres",
        dbname=dbname,
        passfile=PASSFILE,
        autocommit=True,
    )


def stated_text():
    """The Citus variant as one script: the plain objects it does not restate, in their order,
    then citus.sql (whose policies call the functions it defines)."""
    restated = source.citus_objects()
    plain = [sql for key, sql in source.objects().items() if key not in restated]
    return "\n\n".join([*plain, source.text(source.CITUS_FILES)])


@pytest.fixture(scope="module")
def stated(django_db_setup):
    """{key: SQL} of the Citus variant as the catalog reads it back, from a scratch database
    holding ProOne's tables."""
    dbname, owner = owner_conninfo()["dbname"], owner_conninfo()["user"]
    env = {**os.environ, "PGPASSFILE": PASSFILE}
    where = ["-h", "127.0.0.1", "-p", str(COORDINATOR), "-U", "postgres"]
    tables = subprocess.run(  # noqa: S603 - the installed pg_dump, the test cluster
        [str(PG_BIN / "pg_dump"), *where, "--schema-only", dbname],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.replace("CREATE SCHEMA public;", "")  # the scratch database has it
    with superuser("postgres") as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
        connection.execute(f"CREATE DATABASE {SCRATCH}")
    try:
        restored = subprocess.run(  # noqa: S603 - the installed psql, the test cluster
            [str(PG_BIN / "psql"), *where, "-q", "-v", "ON_ERROR_STOP=1", "-d", SCRATCH],
            input=tables,
            env=env,
            capture_output=True,
            text=True,
        )
        assert restored.returncode == 0, restored.stderr
        with superuser(SCRATCH) as connection, connection.cursor() as cursor:
            cursor.execute(f"GRANT CREATE ON DATABASE {SCRATCH} TO {owner}")
            cursor.execute(f"SET ROLE {owner}")
            catalog.clear(cursor)
            cursor.execute(stated_text())
            yield catalog.objects(cursor)
    finally:
        with superuser("postgres") as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")


def coordinator_drift(stated):
    """{key: why} for every object the coordinator holds but the Citus variant does not state,
    states but the coordinator lacks, or states otherwise."""
    with psycopg.connect(**owner_conninfo()) as connection, connection.cursor() as cursor:
        return differences(catalog.objects(cursor), stated)


def test_the_coordinator_holds_exactly_the_citus_variant(stated):
    """Every function, policy, trigger and row-level security flag the coordinator holds is
    the Citus variant's, stated alike, and nothing else: the generated migrations (0031,
    0033) and the hand-written ones (0032, 0034) left the layer the source says."""
    assert coordinator_drift(stated) == {}


def test_a_policy_installed_behind_the_source_is_named(stated):
    """An owner's session adds a policy that opens every job (it reaches the workers too):
    the comparison names it."""
    with psycopg.connect(**owner_conninfo(), autocommit=True) as owner:
        owner.execute("CREATE POLICY behind ON jobs_job FOR SELECT USING (true)")
        try:
            assert set(coordinator_drift(stated)) == {"policy behind on jobs_job"}
        finally:
            owner.execute("DROP POLICY behind ON jobs_job")


# The policies and row-level security flags of every table in public, by table:
# {table: {(policy, permissive, command, roles, using, check)}}, and {table: (enabled, forced)}.
POLICIES = """
SELECT c.relname, p.polname, p.polpermissive, p.polcmd,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END
             FROM unnest(p.polroles) r ORDER BY 1),
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
WHERE c.relnamespace = 'public'::regnamespace
"""
ROW_SECURITY = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
"""
# The definitions and owners of the functions the distributed tables' policies call, and of
# those they call in turn, by signature.
FUNCTIONS = """
SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid) || '-- owned by ' || r.rolname
FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
WHERE p.proname LIKE 'proone_citus_%'
   OR p.pronamespace = 'proone_rls'::regnamespace AND p.proname IN
      ('citus_claim', 'citus_seal', 'citus_sealed', 'citus_transaction')
"""


def read(connection):
    policies, flags = {}, {}
    for table, *policy in connection.execute(POLICIES):
        policies.setdefault(table, set()).add(tuple(map(str, policy)))
    for table, enabled, forced in connection.execute(ROW_SECURITY):
        flags[table] = (enabled, forced)
    functions = dict(connection.execute(FUNCTIONS).fetchall())
    return policies, flags, functions


SHARD = re.compile(r"^(?P<table>" + "|".join(sorted(DISTRIBUTED_TABLES)) + r")_\d+$")


def worker(port):
    """A connection to the worker on `port` as the nodes' superuser, shards in sight."""
    connection = psycopg.connect(
        host="127.0.0.1",
        port=port,
        user="postgres",
        dbname=owner_conninfo()["dbname"],
        passfile=PASSFILE,
        autocommit=True,
    )
    connection.execute("SET citus.override_table_visibility = off")  # shards hidden otherwise
    return connection


def shard_drift():
    """[(worker port, shard or table, what differs)] wherever a worker's shards or functions
    are not what the coordinator states for their tables."""
    with superuser(owner_conninfo()["dbname"]) as coordinator:
        policies, flags, functions = read(coordinator)
    assert set(DISTRIBUTED_TABLES) <= policies.keys()
    found = []
    for port in WORKERS:
        with worker(port) as connection:
            shard_policies, shard_flags, worker_functions = read(connection)
        shards = {name: SHARD.match(name)["table"] for name in shard_flags if SHARD.match(name)}
        missing = set(DISTRIBUTED_TABLES) - set(shards.values())
        found += [(port, table, "no shard") for table in sorted(missing)]
        for name, table in shards.items():
            if shard_policies.get(name) != policies[table]:
                found.append((port, name, "policies"))
            if shard_flags[name] != flags[table]:
                found.append((port, name, "row-level security"))
        if worker_functions != functions:
            found.append((port, "functions", "definitions"))
    return found


@pytest.mark.django_db
def test_every_shard_holds_its_tables_policies_and_functions():
    """On each worker, every shard of a distributed table (jobs_job_102008 of jobs_job) has
    exactly its table's policies and row-level security flags on the coordinator, and the
    worker holds the functions those policies call as the coordinator defines them: what
    the migrations stated reached every worker."""
    assert shard_drift() == []


@pytest.mark.django_db
def test_a_shard_with_row_level_security_switched_off_is_named():
    """A careless operator switches row-level security off on one shard of the access
    reviews on a worker: the comparison names that shard."""
    port = WORKERS[0]
    with worker(port) as connection:
        connection.execute("SET citus.enable_manual_changes_to_shards = on")
        name = next(
            table
            for table, *_ in connection.execute(ROW_SECURITY)
            if table.startswith("divisions_accessreview_")
        )
        connection.execute(f"ALTER TABLE {name} DISABLE ROW LEVEL SECURITY")
        try:
            assert shard_drift() == [(port, name, "row-level security")]
        finally:
            connection.execute(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
