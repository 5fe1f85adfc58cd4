"""Citus: SQL the app role places in a query on a distributed table runs on the worker holding
the rows, where the coordinator's revocations do not reach (divisions/citus_nodes.py,
WORKER_ONLY). Each test is an attack as a member, through the coordinator, and names what
stops it on the worker.

Runs only on the cluster of tests/citus_cluster.py; elsewhere every test here is skipped, and
says so."""

import threading
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from divisions.citus_nodes import TRANSACTION_ID_PATCHED, WORKER_FUNCTIONS
from divisions.scoping import acting_as
from tests.citus.test_principal_on_workers import owner, rows, worker_of
from tests.cluster import ON_CLUSTER, WORKER_DATA, WORKERS

pytestmark = [
    pytest.mark.postgres,
    ON_CLUSTER,
]

REFUSED = "permission denied for function {}"


def refused(function, sql, params):
    """Run `sql` in a transaction of its own and expect a worker to refuse `function`."""
    with (
        pytest.raises(DatabaseError, match=REFUSED.format(function)) as error,
        transaction.atomic(),
    ):
        rows(sql, params)
    assert "while executing command on" in error.value.__cause__.diag.context


@pytest.mark.parametrize(
    ("function", "call"),
    [
        ("run_command_on_workers", "(SELECT count(*) FROM run_command_on_workers('SELECT 1'))"),
        ("run_command_on_all_nodes", "(SELECT count(*) FROM run_command_on_all_nodes('SELECT 1'))"),
        ("citus_run_local_command", "citus_run_local_command('SELECT 1')"),
    ],
)
def test_a_command_runner_pushed_to_a_worker_is_refused(world, function, call):
    """Attack (Alice): call a function that runs commands of her own inside a query on her own
    tenant's jobs. The coordinator refuses a direct call of the first two, but the query is
    sent whole to the worker holding Acme's jobs, which would run it there as the app role:
    from there any SQL reaches any node. Stopped by the worker, where the function is the
    database owner's alone."""
    acme = world.tenants.acme.pk
    with acting_as(world.u.alice):
        refused(function, f"SELECT {call} FROM jobs_job WHERE tenant_id = %s LIMIT 1", [acme])


def test_a_session_setting_planted_on_a_worker_is_refused(world):
    """Attack (Alice): set a session setting inside a query routed to Globex's worker (the
    LIMIT's subquery runs though she sees none of its rows). It would outlive her transaction
    on the coordinator's cached connection to that worker and make the next request on the
    same database connection, Globex's admin's, read-only there. Stopped by the worker, where
    set_config() is the owner's alone; Globex's admin then writes as before."""
    globex = world.tenants.globex.pk
    with acting_as(world.u.alice):
        refused(
            "set_config",
            "SELECT id FROM jobs_job WHERE tenant_id = %s LIMIT (SELECT 1 WHERE "
            "set_config('default_transaction_read_only', 'on', false) IS NOT NULL)",
            [globex],
        )
    with acting_as(world.u.globex_admin):
        assert rows(
            "UPDATE jobs_job SET status = status WHERE tenant_id = %s RETURNING id", [globex]
        )


# Ways to set the kept proof and claim inside a query on a worker (%s: the proof, the claim).
PLANTERS = {
    "set_config": "set_config('proone.principal', %s, true), set_config('proone.citus', %s, true)",
    # Citus's role propagation: it runs any statement when the role exists.
    "alter_role_if_exists": (
        "alter_role_if_exists(current_user::text, 'SET LOCAL proone.principal = ' || "
        "quote_literal(%s)), alter_role_if_exists(current_user::text, "
        "'SET LOCAL proone.citus = ' || quote_literal(%s))"
    ),
    # Citus's shard DDL: it runs a statement it does not know as it is.
    "worker_apply_shard_ddl_command": (
        "worker_apply_shard_ddl_command(0, 'SET LOCAL proone.principal = ' || quote_literal(%s)), "
        "worker_apply_shard_ddl_command(0, 'SET LOCAL proone.citus = ' || quote_literal(%s))"
    ),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("planter", sorted(PLANTERS))
def test_a_claim_kept_from_another_transaction_is_not_planted_on_a_worker(world, planter):
    """Attack (Alice, then with no principal at all): keep her proof, her sealed claim and the
    distributed transaction id they were sealed to; later, in one statement outside any
    transaction block, which Citus sends to the worker with no transaction id, assign that id
    on the worker and plant both settings inside the query, so that the workers' policies
    verify the kept claim again (a tenant admin's, revived after losing the role, would write).
    Stopped by the worker, where every function that sets a setting or runs a statement is the
    owner's alone."""
    acme = world.tenants.acme.pk
    with acting_as(world.u.alice):
        ((proof, claim, initiator, number, stamp),) = rows(
            "SELECT current_setting('proone.principal'), current_setting('proone.citus'), "
            "t.initiator_node_identifier, t.transaction_number, t.transaction_stamp "
            "FROM get_current_transaction_id() t"
        )
        assert number > 0 and claim.startswith("u;")
    assert connection.get_autocommit()
    with pytest.raises(DatabaseError, match=REFUSED.format(planter)):
        rows(
            "SELECT title FROM jobs_job WHERE tenant_id = %s LIMIT (SELECT 1 FROM (SELECT "
            f"assign_distributed_transaction_id(%s, %s, %s), {PLANTERS[planter]}) x)",
            [acme, initiator, number, stamp, proof, claim],
        )


def test_the_app_role_calls_on_a_worker_only_what_citus_calls_there(world):
    """What holds the attacks above for Citus's next function too: on every worker, the app
    role may execute no function of the citus extension but those of
    citus_nodes.WORKER_ALLOWED, nor set_config() and the activity functions."""
    app = connection.settings_dict["USER"]
    for port in WORKERS:
        with owner(port) as worker:
            callable_ = {
                name
                for (name,) in worker.execute(
                    "SELECT p.proname FROM pg_proc p WHERE has_function_privilege(%s, p.oid, "
                    f"'EXECUTE') AND ({WORKER_FUNCTIONS})",
                    [app],
                )
            }
        assert callable_ == set(), (port, callable_)


def test_other_sessions_statements_are_hidden_on_a_worker(world):
    """Attack (Alice): read what other sessions of the app role run on the worker holding Acme's
    jobs. Citus opens each transaction there with a BEGIN that carries the principal's proof
    and its sealed claim, a system work's too. Stopped by the worker, where the activity
    function behind pg_stat_activity is the owner's alone."""
    acme = world.tenants.acme.pk
    with acting_as(world.u.alice):
        refused(
            "pg_stat_get_activity",
            "SELECT (SELECT count(*) FROM pg_stat_get_activity(NULL)) FROM jobs_job "
            "WHERE tenant_id = %s LIMIT 1",
            [acme],
        )


# A query whose CTE Citus plans apart: the CTE's rows (any tenant's, by the reader's rule) are
# written to the worker of the main query as an intermediate result of the transaction.
PLANNED_APART = (
    "WITH recent AS MATERIALIZED (SELECT id, title FROM jobs_job ORDER BY id LIMIT 10) "
    "SELECT j.title FROM jobs_job j JOIN recent USING (id) WHERE j.tenant_id = %s"
)


@pytest.fixture
def held_results(transactional_db, world):
    """(initiator, number, stamp, result id) of a transaction of Globex's admin that holds an
    intermediate result on Globex's worker (a file under the app role's id, the distributed
    transaction's id and the result's) while the test runs."""
    globex = world.tenants.globex.pk
    held, ready, done = {}, threading.Event(), threading.Event()

    def globex_admin():
        try:
            with acting_as(world.u.globex_admin):
                (held["id"],) = rows(
                    "SELECT initiator_node_identifier, transaction_number, transaction_stamp "
                    "FROM get_current_transaction_id()"
                )
                held["titles"] = rows(PLANNED_APART, [globex])
                ready.set()
                done.wait(60)
        finally:
            ready.set()
            connection.close()

    victim = threading.Thread(target=globex_admin)
    victim.start()
    try:
        assert ready.wait(60) and held.get("titles"), "Globex's admin's query ran"
        initiator, number, stamp = held["id"]
        cache = Path(WORKER_DATA[worker_of(globex)]) / "base" / "pgsql_job_cache"
        results = [
            file.name.removesuffix(".data")
            for directory in cache.glob(f"*_{initiator}_{number}")
            for file in directory.glob("*.data")
        ]
        assert results, "the CTE's rows wait on Globex's worker"
        yield initiator, number, stamp, results[0]
    finally:
        done.set()
        victim.join(60)


# Read a held result inside a query on a worker (%s: its transaction's initiator, number and
# stamp, and the result's id): its titles come back in the error of a cast.
READ_HELD = (
    "SELECT string_agg(title, ',')::int FROM (SELECT assign_distributed_transaction_id("
    "%s, %s, %s)) AS a, read_intermediate_result(%s, 'binary') AS r(id bigint, title text)"
)


def test_another_transactions_intermediate_results_are_not_read_on_a_worker(world, held_results):
    """Attack (Alice): take the id of Globex's admin's transaction on Globex's worker, in one
    statement outside a transaction block (Citus sends it with no transaction id), and read
    the held result there. All tenants share the app role, so the file is hers to open (the
    statement read Globex's titles before the fix). Stopped by the worker's Citus, built with
    docs/citus-transaction-id.patch: it assigns a distributed transaction's id only in a
    transaction block."""
    globex = world.tenants.globex.pk
    assert connection.get_autocommit()
    with pytest.raises(DatabaseError, match=TRANSACTION_ID_PATCHED):
        rows(
            f"SELECT id FROM jobs_job WHERE tenant_id = %s LIMIT ({READ_HELD})",
            [globex, *held_results],
        )


ALICES_JOBS = {"Head Office job", "Electrical job", "Plumbing job"}


def test_a_set_local_carries_nothing_else_to_the_workers(world):
    """Attack (Alice): in her request's transaction, after reading her jobs on Acme's worker
    (which opens that worker's transaction), stack a statement behind a SET LOCAL. Citus sent
    the whole query string of a SET LOCAL to the workers in the transaction, so the statement
    also ran there, as the app role, in the middle of the worker's transaction; with a
    ROLLBACK first it ran outside any block there and could take another transaction's id
    (the test above). Here the stacked statement calls set_config(), which the coordinator
    allows and the workers refuse: it reached the worker, and the transaction failed there.
    Stopped by the coordinator's Citus, built with docs/citus-set-local.patch: the workers get
    the SET LOCAL alone, and the rest runs on the coordinator only."""
    with acting_as(world.u.alice), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM jobs_job WHERE tenant_id = %s", [world.tenants.acme.pk])
        assert cursor.fetchall()
        cursor.execute(
            "SET LOCAL lock_timeout = 0; SELECT set_config('proone.stacked', 'coordinator', true)"
        )
        assert cursor.nextset()  # the SELECT's result, after the SET's
        assert cursor.fetchall() == [("coordinator",)]
        cursor.execute("SELECT title FROM jobs_job WHERE tenant_id = %s", [world.tenants.acme.pk])
        assert {title for (title,) in cursor.fetchall()} == ALICES_JOBS


# A statement stacked behind a name or a string that ends early in the text sent to a worker:
# the coordinator allows set_config() to the app role, the workers refuse it.
STACKED = "SELECT set_config($$proone.stacked$$, $$worker$$, true)"


def test_a_string_read_two_ways_carries_nothing_to_the_workers(world):
    """Attack (Alice): after reading her jobs on Acme's worker, turn standard_conforming_strings
    off on the coordinator alone (set_config(), which Citus does not send on), then send a SET
    LOCAL whose string holds a backslash. Read on the coordinator it is one string; read on the
    worker, with the setting on, the string ends at the backslash and the rest ran there as
    statements (and Citus failed the worker's connection on their results). Stopped by
    docs/citus-worker-text.patch: no SET LOCAL is sent on while the setting is off."""
    with acting_as(world.u.alice), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM jobs_job WHERE tenant_id = %s", [world.tenants.acme.pk])
        assert cursor.fetchall()
        with (
            pytest.raises(DatabaseError, match="while standard_conforming_strings is off"),
            transaction.atomic(),
        ):
            cursor.execute("SELECT set_config('standard_conforming_strings', 'off', true)")
            cursor.execute(f"SET LOCAL proone.note = 'a\\'; {STACKED}; --'")


def test_analyze_column_names_carry_nothing_to_the_workers(world):
    """Attack (Alice): ANALYZE her tenant's jobs naming a column whose quoted name ends in
    "); <statement>; SELECT (1". PostgreSQL skips a table the role does not own, but Citus sent the
    command on to every shard with the names as written: the stacked set_config() ran on the
    workers (refused there). Stopped by docs/citus-worker-text.patch: the names are sent
    quoted, and the workers skip the shards as the coordinator skipped the table."""
    with acting_as(world.u.alice), connection.cursor() as cursor:
        cursor.execute(f'ANALYZE jobs_job ("title) ; {STACKED} ; SELECT (1")')
        cursor.execute("SELECT title FROM jobs_job WHERE tenant_id = %s", [world.tenants.acme.pk])
        assert {title for (title,) in cursor.fetchall()} == ALICES_JOBS
