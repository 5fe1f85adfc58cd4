"""The nodes of a Citus cluster (docs/citus-runbook.sh): the citus extension in ProOne's
database on every node, the coordinator's list of its workers, the functions only the owner may
call on the coordinator and on the workers, and which tables the cluster distributes.

Every node gets the same roles and database from its own `manage.py create_db_roles`; the
coordinator then learns its workers here. Migrations (0031 to 0034) distribute the tables."""

import re
from dataclasses import dataclass

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


def owner_only(condition, owner_keeps):
    """A DO block for this node only (no DDL propagation): EXECUTE on the functions matching
    `condition` (on pg_proc p) taken from PUBLIC and every role but their owner, and given to
    the database owner on those of them that also match `owner_keeps`."""
    return rf"""
DO $$
DECLARE
    function regprocedure;
    grantee name;
BEGIN
    SET LOCAL citus.enable_ddl_propagation = off;
    FOR function IN SELECT p.oid::regprocedure FROM pg_proc p WHERE {condition} LOOP
        EXECUTE format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', function);
        FOR grantee IN
            SELECT pg_get_userbyid(a.grantee) FROM pg_proc p, aclexplode(p.proacl) a
            WHERE p.oid = function AND a.grantee NOT IN (0, p.proowner)
        LOOP
            EXECUTE format('REVOKE EXECUTE ON ROUTINE %s FROM %I', function, grantee);
        END LOOP;
        IF EXISTS (SELECT FROM pg_proc p WHERE p.oid = function AND ({owner_keeps})) THEN
            EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', function,
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
# coordinator as a node, and it copies the key to the workers (proone_rls.citus_copy_key).
COORDINATOR_ONLY = owner_only(
    "p.pronamespace = 'pg_catalog'::regnamespace AND (p.proname IN"
    " ('assign_distributed_transaction_id', 'master_run_on_worker')"
    r" OR p.proname LIKE 'run\_command\_on\_%')",
    "p.proname IN ('assign_distributed_transaction_id', 'run_command_on_workers',"
    " 'master_run_on_worker')",
)

# The functions of the citus extension that the app role may call on a worker: those Citus
# itself calls there as the session's role while it runs the app's statements (the
# transaction's id, shard locks, intermediate results, the aggregates it splits between the
# workers and the coordinator and the types they use) and harmless facts.
WORKER_ALLOWED = (
    "assign_distributed_transaction_id",
    "get_current_transaction_id",
    "lock_shard_metadata",
    "lock_shard_resources",
    "read_intermediate_result",
    "read_intermediate_results",
    "fetch_intermediate_results",
    "worker_hash",
    "any_value",
    "any_value_agg",
    "array_cat_agg",
    "json_cat_agg",
    "jsonb_cat_agg",
    "citus_json_concatenate",
    "citus_json_concatenate_final",
    "citus_jsonb_concatenate",
    "citus_jsonb_concatenate_final",
    "coord_combine_agg",
    "coord_combine_agg_ffunc",
    "coord_combine_agg_sfunc",
    "worker_partial_agg",
    "worker_partial_agg_ffunc",
    "worker_partial_agg_sfunc",
    "citus_text_send_as_jsonb",
    "citus_extradata_container",
    "citus_table_is_visible",
    "relation_is_a_known_shard",
    "citus_version",
    "citus_is_coordinator",
    "citus_is_primary_node",
)

# On every worker, the rest of the citus extension's functions, set_config() and the activity
# functions are the database owner's alone (docs/scaling.md, "Citus", item 5): the coordinator
# runs a function that a query on a distributed table calls on the worker holding the rows, as
# the app role, and checks no EXECUTE of its own. run_command_on_workers() sends the block.
WORKER_FUNCTIONS = (
    "(p.oid IN (SELECT d.objid FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid"  # noqa: S608 - constants of this module
    " WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e' AND e.extname = 'citus')"
    f" AND p.proname NOT IN ({', '.join(repr(name) for name in WORKER_ALLOWED)}))"
    " OR (p.pronamespace = 'pg_catalog'::regnamespace AND p.proname IN"
    " ('set_config', 'pg_stat_get_activity', 'pg_stat_get_backend_activity'))"
)
WORKER_ONLY = owner_only(WORKER_FUNCTIONS, "true")
# How many of those functions a role other than their owner and the database owner may still
# execute on a worker (PUBLIC included): 0 once WORKER_ONLY ran.
WORKER_GRANTS_LEFT = (
    "SELECT count(*) FROM pg_proc p, pg_database b WHERE b.datname = current_database()"  # noqa: S608 - constants of this module
    f" AND ({WORKER_FUNCTIONS}) AND EXISTS (SELECT FROM aclexplode(coalesce(p.proacl,"
    " acldefault('f', p.proowner))) a WHERE a.privilege_type = 'EXECUTE'"
    " AND a.grantee NOT IN (p.proowner, b.datdba))"
)

# Per worker (name, port, success, result) of the statement run_command_on_workers() sends.
ON_WORKERS = "SELECT nodename, nodeport, success, result FROM run_command_on_workers(%s)"

# run_command_on_workers() sends a statement outside a transaction block: a worker whose Citus
# is built with docs/citus-transaction-id.patch refuses to take a transaction's id there
# (docs/scaling.md, "Citus", item 6); one without it takes the id for that statement alone.
TRANSACTION_ID_PROBE = "SELECT assign_distributed_transaction_id(0, 1, now())"
TRANSACTION_ID_PATCHED = "a distributed transaction id is assigned only in a transaction block"


def unpatched(probed):
    """The "host:port (why)" of each worker of `probed` (ON_WORKERS rows of TRANSACTION_ID_PROBE)
    whose Citus lets a statement outside a transaction block take a transaction's id."""
    return [
        f"{host}:{port} ({'it took the id' if success else _why(result)})"
        for host, port, success, result in probed
        if success or TRANSACTION_ID_PATCHED not in result
    ]


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
                raise ImproperlyConfigured(f"worker {host}:{port} refused the grants: {result}")
            log(f"worker {host}:{port}: the app role calls only what Citus calls there")


@dataclass(frozen=True)
class Distribution:
    """What `citus_nodes --check` reports: pg_dist_node's and pg_dist_partition's rows, and
    "host:port (why)" of each worker that does not answer, that still grants the app role or
    PUBLIC a function of WORKER_FUNCTIONS, or whose Citus lacks
    docs/citus-transaction-id.patch."""

    nodes: list
    partitions: list
    unanswered: list
    open_workers: list
    unpatched: list


def distribution(admin_url, database):
    """The cluster's Distribution, read on the coordinator of `admin_url`."""
    import psycopg

    with psycopg.connect(admin_url, dbname=database, autocommit=True) as db:
        _require_extension(db, database)
        left = db.execute(ON_WORKERS, [WORKER_GRANTS_LEFT]).fetchall()
        down = {(host, port): _why(result) for host, port, success, result in left if not success}
        probed = db.execute(ON_WORKERS, [TRANSACTION_ID_PROBE]).fetchall()
        return Distribution(
            nodes=db.execute(NODES).fetchall(),
            partitions=db.execute(PARTITIONS).fetchall(),
            unanswered=[f"{host}:{port} ({why})" for (host, port), why in down.items()],
            open_workers=[
                f"{host}:{port} (grants {result})"
                for host, port, success, result in left
                if success and result != "0"
            ],
            unpatched=unpatched([row for row in probed if (row[0], row[1]) not in down]),
        )


def _why(result):
    """The first line of a worker's error, for a one-line message."""
    lines = (result or "").strip().splitlines()
    return lines[0] if lines else "no answer"


def _require_extension(db, database):
    if not db.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone():
        raise ImproperlyConfigured(
            f"The database {database} has no citus extension: run manage.py create_db_roles "
            "on this node first, on a server with shared_preload_libraries = citus"
        )
