"""DATABASE_PREPARED_STATEMENTS=1: statements prepared on the server, and the rule still holds."""

import pytest
from django.db import connection, connections

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
    functions are initial plans, evaluated at execution), never when it is planned."""
    snapshot = oracle.snapshot()
    users = [world.u.alice, world.u.sam, world.u.gina, world.u.acme_admin, world.u.nodiv]
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
        with own.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
        for _ in range(3):
            for user in users:
                with acting_as(user), own.cursor() as cursor:
                    cursor.execute("SELECT id FROM jobs_job WHERE id > %s", [0])
                    by_policy = {row[0] for row in cursor.fetchall()}
                    by_orm = set(Job.objects.values_list("pk", flat=True))
                want = oracle.visible_jobs(snapshot, user)
                assert by_policy == want, user.username
                assert by_orm == want, user.username
        with own.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements "
                "WHERE statement LIKE 'SELECT id FROM jobs_job WHERE id > $1%%' "
                "AND generic_plans > 0"
            )
            assert cursor.fetchone()[0] == 1, "the policy statement ran from one kept plan"
    finally:
        own.close()
        connections["default"] = original
