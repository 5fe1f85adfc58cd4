"""What the tests know of the cluster they run on: a Citus cluster's coordinator
(tests/citus_cluster.py sets PROONE_TEST_CITUS_WORKERS to its workers' ports) or one server."""

import os

WORKERS = [int(port) for port in os.environ.get("PROONE_TEST_CITUS_WORKERS", "").split(",") if port]
ON_CITUS = bool(WORKERS)
# The coordinator's port and a libpq password file holding the nodes' superuser password (for
# the runbook's test, which sets up a database of its own there as the operator would).
COORDINATOR = int(os.environ.get("PROONE_TEST_CITUS_COORDINATOR") or 0)
PASSFILE = os.environ.get("PROONE_TEST_CITUS_PASSFILE", "")

# Citus refuses a change of a row's distribution column (tenant_id) itself, before any policy:
# a job or note never moves to another tenant there.
TENANT_MOVE_REFUSED = "modifying the partition value of rows is not allowed"
# A query joining a coordinator table with a distributed one, which the Citus layer refuses
# (citus.local_table_join_policy = never, divisions/migrations/0032_citus_distribute.py).
LOCAL_JOIN_REFUSED = "direct joins between distributed and local tables are not supported"

# The distributed tables. Their policies run on the workers, with the principal the transaction
# entered (proone_enter() sends it there with SET LOCAL): a set_config() of the proof on the
# coordinator, which the plain layer refuses as forged wherever a policy checks it, does not
# reach them, so they keep answering for the entered principal (never for the forged one).
DISTRIBUTED_TABLES = frozenset({"jobs_job", "jobs_jobnote"})

# What Citus answers to a join it will not plan (the join above, or two distributed tables
# joined on other columns than tenant_id).
JOIN_REFUSED = (
    f"{LOCAL_JOIN_REFUSED}|join that requires repartitioning"
    "|complex joins are only supported when all distributed tables are co-located"
)
