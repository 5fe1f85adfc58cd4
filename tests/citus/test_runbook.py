"""The Citus runbook, run as an operator runs it: docs/citus-runbook.sh (the commands
docs/deploy.md links) step by step in subprocesses, as the nodes' superuser, on the nodes of
the Citus test pass: its own database `proone` and roles on every node, the workers added to
the coordinator, then the migration gate through the coordinator (bootstrap, reviews, migrate,
which distributes the tenant-owned tables) and the check that they are distributed. Bad input
gets one line saying what to do, never a traceback.

The superuser's password comes from the cluster's libpq password file (the URLs name the file,
not the password), as an operator's comes from ~/.pgpass. Runs only on the cluster of
tests/citus_cluster.py; elsewhere it is skipped, and says so."""

import re
from urllib.parse import unquote, urlsplit

import pytest

from tests.cluster import COORDINATOR, ON_CLUSTER, PASSFILE, WORKERS, start_worker, stop_worker
from tests.deploy.test_runbook import (
    REVIEWER_PASSWORD,
    Deploy,
    checkout_copy,
    pending_project_migrations,
    refused,
)

RUNBOOK = "docs/citus-runbook.sh"

pytestmark = [
    pytest.mark.postgres,
    ON_CLUSTER,
]


def node_url(port):
    """A node's superuser URL: its password is read from the password file."""
    return f"postgres://postgres@127.0.0.1:{port}/postgres?passfile={PASSFILE}"


@pytest.fixture(scope="module")
def deploy(tmp_path_factory):
    """An operator's checkout and environment, DATABASE_URL and DATABASE_MIGRATE_URL naming
    the coordinator; the nodes' servers know the two roles' passwords (the runbook's
    preface: each node reaches the others as them)."""
    deploy = Deploy(
        checkout_copy(tmp_path_factory.mktemp("checkout")), node_url(COORDINATOR), RUNBOOK
    )
    with open(PASSFILE, "a") as passfile:
        for name in ("DATABASE_URL", "DATABASE_MIGRATE_URL"):
            url = urlsplit(deploy.env[name])
            passfile.write(f"127.0.0.1:*:*:{url.username}:{unquote(url.password)}\n")
    return deploy


@pytest.mark.postgres
def test_first_deploy_on_an_empty_citus_cluster_exactly_as_the_runbook_says(deploy):
    """Every node's roles, the workers, the gate's bootstrap and reviews, migrate, and jobs and
    notes distributed by tenant_id, with the gate's audit intact."""
    coordinator = {"DATABASE_ADMIN_URL": deploy.admin_url}
    workers = [f"127.0.0.1:{port}" for port in WORKERS]
    for port in WORKERS:
        made = deploy.ok("roles", DATABASE_ADMIN_URL=node_url(port))
        assert "created the citus extension in proone" in made.stdout, made.stdout
    assert "created role proone_owner" in deploy.ok("roles", **coordinator).stdout

    refused(deploy.run("workers", *workers), "Set DATABASE_ADMIN_URL")
    refused(deploy.run("workers", **coordinator), "Name the workers")
    refused(deploy.run("workers", "worker-1", **coordinator), "'worker-1' is not HOST:PORT")
    refused(
        deploy.run("workers", *workers, DATABASE_ADMIN_URL=node_url(COORDINATOR) + "x"),
        "PostgreSQL refused",
    )
    for _ in range(2):  # run again (a step repeated): the same nodes
        added = deploy.ok("workers", *workers, **coordinator)
        assert all(f"worker {worker} is in the cluster" in added.stdout for worker in workers)
    assert deploy.admin(
        "SELECT nodeport FROM pg_dist_node WHERE groupid > 0 ORDER BY 1", dbname="proone"
    ) == [(port,) for port in sorted(WORKERS)]
    # The app role may not send commands of its own to the workers; the owner may.
    may_run = "SELECT has_function_privilege(%r, 'run_command_on_workers(text,boolean)', 'EXECUTE')"
    assert deploy.admin(may_run % "proone_app", dbname="proone") == [(False,)]
    assert deploy.admin(may_run % "proone_owner", dbname="proone") == [(True,)]
    # Nor, on a worker, set a setting or call Citus's functions that Citus does not call there.
    may_call = (
        "SELECT nodeport, result FROM run_command_on_workers($$SELECT has_function_privilege("
        "'%s', '%s', 'EXECUTE')$$) ORDER BY nodeport"
    )
    for function in ("set_config(text,text,boolean)", "alter_role_if_exists(text,text)"):
        assert deploy.admin(may_call % ("proone_app", function)) == [
            (port, "f") for port in sorted(WORKERS)
        ]
        assert deploy.admin(may_call % ("proone_owner", function)) == [
            (port, "t") for port in sorted(WORKERS)
        ]
    assert deploy.admin(may_call % ("proone_app", "lock_shard_resources(integer,bigint[])")) == [
        (port, "t") for port in sorted(WORKERS)
    ]
    refused(deploy.run("distributed", **coordinator), "Not distributed: jobs_job, jobs_jobnote")

    assert "Bootstrapped the database 'proone'" in deploy.ok("bootstrap").stdout
    deploy.ok("reviewer", "--noinput", DJANGO_SUPERUSER_PASSWORD=REVIEWER_PASSWORD)
    sign = ("--password-stdin", "--acknowledge-findings")
    deploy.ok("packages", *sign, stdin=REVIEWER_PASSWORD + "\n")
    pending = pending_project_migrations(deploy.ok("plan").stdout)
    assert "divisions.0032_citus_distribute" in pending
    reviewed = deploy.ok("release", *sign, stdin=REVIEWER_PASSWORD + "\n")
    assert f"This release has {len(pending)} migrations to sign off" in reviewed.stdout
    assert "Applied" in deploy.ok("migrate").stdout

    distributed = deploy.ok("distributed", **coordinator)
    assert "distributed by tenant_id: jobs_job, jobs_jobnote" in distributed.stdout
    assert "workers: the app role calls only what Citus calls there" in distributed.stdout
    assert "workers: a transaction's id is taken only in a transaction block" in distributed.stdout
    # A worker that grants the app role one more function (by hand, or a Citus upgrade's new
    # function) fails the check, which names it and the fix; the workers step closes it again.
    deploy.admin(
        "SELECT run_command_on_workers($$GRANT EXECUTE ON FUNCTION "
        "set_config(text,text,boolean) TO proone_app$$)"
    )
    refused(
        deploy.run("distributed", **coordinator),
        *(f"127.0.0.1:{port} (grants 1)" for port in WORKERS),
        "run manage.py citus_nodes with every worker",
    )
    deploy.ok("workers", *workers, **coordinator)
    deploy.ok("distributed", **coordinator)
    # A worker that does not answer fails the check, which names it and says to start it;
    # once it is back the check passes again.
    stopped = WORKERS[-1]
    stop_worker(stopped)
    try:
        refused(
            deploy.run("distributed", **coordinator),
            f"Workers that do not answer: 127.0.0.1:{stopped} (",
            "start them and run the check again",
        )
    finally:
        start_worker(stopped)
    deploy.ok("distributed", **coordinator)
    for port in WORKERS:
        assert re.search(rf"node 127\.0\.0\.1:{port} primary active", distributed.stdout)
    assert deploy.admin(
        "SELECT logicalrelid::text, partmethod FROM pg_dist_partition "
        "WHERE logicalrelid::text LIKE 'jobs\\_%' ORDER BY 1",
        dbname="proone",
    ) == [("jobs_job", "h"), ("jobs_jobnote", "h")]
    # The shards are on both workers.
    assert deploy.admin(
        "SELECT count(DISTINCT nodeport) FROM pg_dist_shard_placement p "
        "JOIN pg_dist_shard s USING (shardid) WHERE s.logicalrelid = 'jobs_job'::regclass",
        dbname="proone",
    ) == [(len(WORKERS),)]
    # The gate applied the distribution under its lock, signed and audited, on the coordinator.
    assert deploy.admin(
        "SELECT event, outcome, reviewer FROM gate_auditentry WHERE app_label = 'divisions' "
        "AND migration_name = '0032_citus_distribute' AND event = 'apply' ORDER BY id",
        dbname="proone",
    ) == [("apply", "started", "rita"), ("apply", "ok", "rita")]
    deploy.ok("check")
    assert "Audit log chain intact" in deploy.ok("verify").stdout
