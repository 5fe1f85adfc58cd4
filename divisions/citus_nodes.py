"""The nodes of a Citus cluster (docs/citus-runbook.sh): the citus extension in ProOne's
database on every node, the coordinator's list of its workers, the functions only the owner may
call on the coordinator, and which tables the cluster distributes.

Every node gets the same roles and database from its own `manage.py create_db_roles`; the
coordinator then learns its workers here. Migrations (0031 to 0034) distribute the tables."""

import re

from django.core.exceptions import ImproperlyConfigured

# What divisions/migrations/0032_citus_distribute.py and 0034_citus_distribute_records.py
# distribute by tenant_id (co-located); every other table stays on the coordinator.
DISTRIBUTED_TABLES = (
    "jobs_job",
    "jobs_jobnote",
    "divisions_datascopechange",
    "divisions_accessreview",
)

PRELOADED = (
    "SELECT 'citus' = ANY(string_to_array("
    "replace(current_setting('shared_preload_libraries'), ' ', ''), ','))"
)

# On the coordinator, the app role may not choose the distributed transaction's id (a claim
# sealed to an old id would verify again) nor send commands of its own to the workers (there a
# session may call anything). The database owner keeps both: its DDL connects to the
# coordinator as a node, and it copies the key to the workers (proone_rls.citus_copy_key). The
# workers keep Citus's grants: the coordinator calls assign_distributed_transaction_id() there
# as the session's role. Stated for this node only (no DDL propagation).
COORDINATOR_ONLY = r"""
DO $$
DECLARE
    function regprocedure;
BEGIN
    SET LOCAL citus.enable_ddl_propagation = off;
    FOR function IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'pg_catalog'::regnamespace
          AND (p.proname = 'assign_distributed_transaction_id'
               OR p.proname LIKE 'run\_command\_on\_%'
               OR p.proname = 'master_run_on_worker')
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', function);
    END LOOP;
    FOR function IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'pg_catalog'::regnamespace
          AND p.proname IN ('assign_distributed_transaction_id', 'run_command_on_workers',
                            'master_run_on_worker')
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', function,
                       (SELECT pg_get_userbyid(datdba) FROM pg_database
                        WHERE datname = current_database()));
    END LOOP;
END
$$
"""

NODES = "SELECT nodename, nodeport, noderole, isactive FROM pg_dist_node ORDER BY groupid"

PARTITIONS = (
    "SELECT logicalrelid::text, partmethod, colocationid FROM pg_dist_partition "
    "ORDER BY logicalrelid::text"
)


def address(text):
    """(host, port) of a HOST:PORT argument."""
    match = re.fullmatch(r"([^\s:/]+):(\d{1,5})", text)
    if not match or not 0 < int(match[2]) < 65536:
        raise ImproperlyConfigured(f"{text!r} is not HOST:PORT, e.g. worker-1.internal:5432")
    return match[1], int(match[2])


def preloads_citus(db):
    """True when the server `db` is connected to loads Citus (shared_preload_libraries)."""
    return db.execute(PRELOADED).fetchone()[0]


def create_extension(db, log=print):
    """The citus extension in `db`'s database, on a server that preloads Citus; this node's
    own statements are not sent on to any workers (each node is set up by its own run)."""
    db.execute("SET citus.enable_ddl_propagation TO off")
    if not db.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone():
        db.execute("CREATE EXTENSION citus")
        log(f"created the citus extension in {db.info.dbname}")


def add_workers(admin_url, database, coordinator, workers, log=print):
    """Make the server of `admin_url` the coordinator of `database` (at the (host, port) the
    workers reach it by), add `workers` ((host, port) each, set up by create_db_roles), and keep
    the coordinator-only functions to the owner. Safe to re-run."""
    import psycopg

    with psycopg.connect(admin_url, dbname=database, autocommit=True) as db:
        _require_extension(db, database)
        db.execute("SELECT citus_set_coordinator_host(%s, %s)", coordinator)
        for host, port in workers:
            db.execute("SELECT citus_add_node(%s, %s)", [host, port])
            log(f"worker {host}:{port} is in the cluster")
        db.execute(COORDINATOR_ONLY)
        log("coordinator-only functions: the database owner's alone")


def distribution(admin_url, database):
    """(nodes, partitions) of the cluster: pg_dist_node's and pg_dist_partition's rows."""
    import psycopg

    with psycopg.connect(admin_url, dbname=database, autocommit=True) as db:
        _require_extension(db, database)
        return db.execute(NODES).fetchall(), db.execute(PARTITIONS).fetchall()


def _require_extension(db, database):
    if not db.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone():
        raise ImproperlyConfigured(
            f"The database {database} has no citus extension: run manage.py create_db_roles "
            "on this node first, on a server with shared_preload_libraries = citus"
        )
