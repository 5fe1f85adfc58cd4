"""What the tests know of the cluster they run on: a Citus cluster's coordinator
(tests/citus_cluster.py sets PROONE_TEST_CITUS_WORKERS to its workers' ports) or one server."""

import os
import subprocess
from pathlib import Path

import pytest

from divisions import citus_nodes

WORKERS = [int(port) for port in os.environ.get("PROONE_TEST_CITUS_WORKERS", "").split(",") if port]
ON_CITUS = bool(WORKERS)
# The coordinator's port and a libpq password file holding the nodes' superuser password (for
# the runbook's test, which sets up a database of its own there as the operator would).
COORDINATOR = int(os.environ.get("PROONE_TEST_CITUS_COORDINATOR") or 0)
PASSFILE = os.environ.get("PROONE_TEST_CITUS_PASSFILE", "")

# The mark of a test that runs only on that cluster; elsewhere it is skipped, and says so.
ON_CLUSTER = pytest.mark.skipif(
    not (WORKERS and COORDINATOR and PASSFILE),
    reason="CITUS PASS SKIPPED: needs the Citus cluster of tests/citus_cluster.py "
    "(CITUS_SRC=../shared/citus python tests/citus_cluster.py tests/citus)",
)

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
DISTRIBUTED_TABLES = frozenset(citus_nodes.DISTRIBUTED_TABLES)

# What Citus answers to a join it will not plan (the join above, or two distributed tables
# joined on other columns than tenant_id).
JOIN_REFUSED = (
    f"{LOCAL_JOIN_REFUSED}|join that requires repartitioning"
    "|complex joins are only supported when all distributed tables are co-located"
)

# The workers' data directories and the nodes' password file (tests/citus_cluster.py), in the
# order of WORKERS: a fault test stops and starts a worker itself.
WORKER_DATA = dict(
    zip(WORKERS, os.environ.get("PROONE_TEST_CITUS_WORKER_DATA", "").split(","), strict=False)
)


def stop_worker(port):
    """Stop the worker on `port` at once, as a crash would (pg_ctl -m immediate, as postgres)."""
    from tests.postgres_server import PG_BIN, as_postgres

    subprocess.run(  # noqa: S603 - the installed pg_ctl, the harness's data directory
        as_postgres([str(PG_BIN / "pg_ctl"), "-D", WORKER_DATA[port], "-m", "immediate", "stop"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def start_worker(port):
    """Start the stopped worker on `port` again with the options it last ran with (pg_ctl's
    restart reads them from postmaster.opts) and the nodes' password file."""
    from tests.postgres_server import PG_BIN, as_postgres

    data = Path(WORKER_DATA[port])
    subprocess.run(  # noqa: S603 - the installed pg_ctl, the harness's data directory
        as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(data.parent / "server.log")]
            + ["-w", "restart"]
        ),
        env=dict(os.environ, PGPASSFILE=os.environ["PROONE_TEST_CITUS_PASSFILE"]),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
