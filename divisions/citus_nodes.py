"""The nodes of a Citus cluster (docs/citus-runbook.sh): the citus extension in ProOne's
database on every node, the coordinator's list of its workers, the functions only the owner may
call on the coordinator and on the workers, and which tables the cluster distributes.

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


def owner_only(functions, kept):
    """A DO block for this node only (no DDL propagation): EXECUTE on `functions` (pg_catalog's
    whose name matches this condition on pg_proc p) taken from PUBLIC and given to the
    database owner on those of them that also match `kept`."""
    return rf"""
DO $$
DECLARE
    function regprocedure;
BEGIN
    SET LOCAL citus.enable_ddl_propagation = off;
    FOR function IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'pg_catalog'::regnamespace AND ({functions})
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', function);
        IF EXISTS (SELECT FROM pg_proc p WHERE p.oid = function AND ({kept})) THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', function,
                           (SELECT pg_get_userbyid(datdba) FROM pg_database
                            WHERE datname = current_database()));
        END IF;
    END LOOP;
END
$$
"""  # noqa: S608 - conditions stated in this module


# On the coordinator, the app role may not choose the distributed transaction's id (a claim
# sealed to an old id would verify again) nor send commands of its own to the workers (there a
# session may call anything). The database owner keeps both: its DDL connects to the
# coordinator as a node, and it copies the key to the workers (proone_rls.citus_copy_key). The
# workers keep Citus's assign_distributed_transaction_id(): the coordinator calls it there as
# the session's role.
COORDINATOR_ONLY = owner_only(
    r"p.proname IN ('assign_distributed_transaction_id', 'master_run_on_worker')"
    r" OR p.proname LIKE 'run\_command\_on\_%'",
    "p.proname IN ('assign_distributed_transaction_id', 'run_command_on_workers',"
    " 'master_run_on_worker')",
)

# On every worker, what the app role could otherwise reach from SQL that Citus sends there:
# the coordinator runs a function called in a query on a distributed table on the worker
# holding the rows, as the session's role, and checks no EXECUTE of its own. There a session
# must not set a setting (set_config(): a claim kept from another transaction, planted in a
# statement that has assigned itself that transaction's id, would verify again; a session
# setting would outlive the transaction on the coordinator's cached connection), run commands
# of its own (run_command_on_*(), citus_run_local_command(), master_run_on_worker()), or read
# what other sessions run (pg_stat_get_activity(): Citus's BEGIN carries each transaction's
# proof and claim). Citus's own statements need none of them as the app role: it sends
# settings as SET LOCAL statements. The database owner keeps them; run_command_on_workers()
# sends the block from the coordinator.
WORKER_FUNCTIONS = (
    "p.proname IN ('set_config', 'citus_run_local_command', 'master_run_on_worker',"
    " 'pg_stat_get_activity', 'pg_stat_get_backend_activity')"
    r" OR p.proname LIKE 'run\_command\_on\_%'"
)
WORKER_ONLY = owner_only(WORKER_FUNCTIONS, "true")
# How many of those functions PUBLIC may still execute on a worker: 0 once WORKER_ONLY ran.
WORKER_ONLY_LEFT = (
    "SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'pg_catalog'::regnamespace"  # noqa: S608
    f" AND ({WORKER_FUNCTIONS}) AND (p.proacl IS NULL OR EXISTS (SELECT FROM"
    " aclexplode(p.proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))"
)

# Per worker (name, port, success, result) of the statement run_command_on_workers() sends.
ON_WORKERS = "SELECT nodename, nodeport, success, result FROM run_command_on_workers(%s)"

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
        for host, port, success, result in db.execute(ON_WORKERS, [WORKER_ONLY]).fetchall():
            if not success:
                raise ImproperlyConfigured(f"worker {host}:{port} refused its settings: {result}")
            log(f"worker {host}:{port}: settings, commands and activity the owner's alone")


def distribution(admin_url, database):
    """(nodes, partitions, exposed) of the cluster: pg_dist_node's and pg_dist_partition's
    rows, and the workers ("host:port") where the app role may still run a function of
    WORKER_ONLY's."""
    import psycopg

    with psycopg.connect(admin_url, dbname=database, autocommit=True) as db:
        _require_extension(db, database)
        exposed = [
            f"{host}:{port}"
            for host, port, success, result in db.execute(ON_WORKERS, [WORKER_ONLY_LEFT])
            if not success or result != "0"
        ]
        return db.execute(NODES).fetchall(), db.execute(PARTITIONS).fetchall(), exposed


def _require_extension(db, database):
    if not db.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone():
        raise ImproperlyConfigured(
            f"The database {database} has no citus extension: run manage.py create_db_roles "
            "on this node first, on a server with shared_preload_libraries = citus"
        )
