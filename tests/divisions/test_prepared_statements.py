"""DATABASE_PREPARED_STATEMENTS=1: statements prepared on the server, and the rule still holds."""

from contextlib import contextmanager

import pytest
from django.db import connection, connections

from divisions.rls import PlantedStatement
from divisions.scoping import acting_as
from jobs.models import Job
from tests import oracle
from tests.settings_probe import settings_print


def database_options(**environment):
    """The default database's OPTIONS that proone.settings makes from `environment`."""
    return settings_print(
        "sorted(s.DATABASES['default'].get('OPTIONS', {}).items())",
        unset_prefix="DATABASE_",
        **environment,
    )


POSTGRES = "postgres://app:pw@127.0.0.1:1/proone"


@contextmanager
def preparing_connection():
    """The default database's connection for the block: persistent, binding on the server,
    preparing every statement the first time it runs."""
    original = connections["default"]
    settings_dict = {
        **connection.settings_dict,
        "CONN_MAX_AGE": None,
        "OPTIONS": {
            **connection.settings_dict.get("OPTIONS", {}),
            "server_side_binding": True,
            "prepare_threshold": 0,
        },
    }
    own = type(original)(settings_dict, "default")
    connections["default"] = own
    try:
        yield own
    finally:
        own.close()
        connections["default"] = original


def test_off_unless_asked_for():
    result = database_options(DATABASE_URL=POSTGRES)
    assert result.stdout.strip() == "[]", result.stderr


def test_asked_for_the_connection_binds_on_the_server_and_prepares():
    result = database_options(DATABASE_URL=POSTGRES, DATABASE_PREPARED_STATEMENTS="1")
    assert result.stdout.strip() == ("[('prepare_threshold', 5), ('server_side_binding', True)]"), (
        result.stderr
    )


def test_asked_for_on_sqlite_it_is_refused_with_the_fix():
    result = database_options(DATABASE_PREPARED_STATEMENTS="1")
    assert result.returncode != 0
    assert "DATABASE_PREPARED_STATEMENTS=1 needs PostgreSQL" in result.stderr


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_plan_kept_for_one_user_answers_the_next_as_the_rule_says(world):
    """Attack: a statement planned while one principal acted, its plan kept by the connection
    and run again for the next request's principal (the generic plan forced, so nothing is
    planned again). What stops it: the policies ask who acts when the statement runs (their
    functions are initial plans, evaluated at execution), never when it is planned. The raw
    statements leave the choice to the policies alone (jobs, and notes through their job); the
    ORM's queries on the same connection check the rule's other layer."""
    snapshot = oracle.snapshot()
    users = [world.u.alice, world.u.sam, world.u.gina, world.u.acme_admin, world.u.nodiv]
    rounds = 3
    with preparing_connection() as own:
        with own.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
        for _ in range(rounds):
            for user in users:
                with acting_as(user), own.cursor() as cursor:
                    cursor.execute("SELECT id FROM jobs_job WHERE id > %s", [0])
                    jobs = {row[0] for row in cursor.fetchall()}
                    cursor.execute("SELECT id FROM jobs_jobnote WHERE id > %s", [0])
                    notes = {row[0] for row in cursor.fetchall()}
                    by_orm = set(Job.objects.values_list("pk", flat=True))
                assert jobs == oracle.visible_jobs(snapshot, user), user.username
                assert notes == oracle.visible_notes(snapshot, user), user.username
                assert by_orm == oracle.visible_jobs(snapshot, user), user.username
        with own.cursor() as cursor:
            cursor.execute(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE 'SELECT id FROM %% WHERE id > $1'"
            )
            kept = cursor.fetchall()
        # Both statements prepared once, every run of them from their generic plan.
        runs = rounds * len(users)
        assert sorted(kept) == [(runs, 0), (runs, 0)], kept


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_statement_an_injection_prepares_never_runs_for_the_next_request(world):
    """Attack (Alice): on a connection that prepares statements, her request's injection
    replaces the job list's prepared statement (DEALLOCATE, then PREPARE under psycopg's own
    name) with one of hers; the next request on the connection, Globex's admin's, would run
    it in the admin's principal (here it only answers a made-up job; it could as well write
    as the admin). Stopped by entering the principal: it finds a statement prepared in SQL on
    the connection, refuses the request (divisions.rls.PlantedStatement) and closes the
    connection; the request after it gets a new connection and the rule's answer."""
    snapshot = oracle.snapshot()
    listing = "SELECT id FROM jobs_job WHERE id > %s"
    with preparing_connection() as own:
        with acting_as(world.u.alice), own.cursor() as cursor:
            cursor.execute(listing, [0])
            (name, types) = own.connection.execute(
                "SELECT name, parameter_types::text[] FROM pg_prepared_statements "
                "WHERE statement LIKE 'SELECT id FROM jobs_job%%'",
                prepare=False,
            ).fetchone()
            own.connection.execute(f"DEALLOCATE {name}", prepare=False)
            own.connection.execute(
                f"PREPARE {name} ({', '.join(types)}) AS SELECT -1::bigint AS id "
                "WHERE $1 IS NOT NULL",
                prepare=False,
            )
        with (
            pytest.raises(PlantedStatement),
            acting_as(world.u.globex_admin),
            own.cursor() as cursor,
        ):
            cursor.execute(listing, [0])
            pytest.fail(f"the planted statement ran: {cursor.fetchall()}")
        assert own.connection is None, "the connection was closed"
        with acting_as(world.u.globex_admin), own.cursor() as cursor:
            cursor.execute(listing, [0])
            assert {row[0] for row in cursor.fetchall()} == oracle.visible_jobs(
                snapshot, world.u.globex_admin
            )
