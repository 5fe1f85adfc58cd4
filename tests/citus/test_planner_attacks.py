"""Citus: SQL shapes that make the coordinator plan a table under row-level security as a
subquery of its own, sent by an injection as the app role inside a member's principal.

Citus 13.2.2 copied the table's row-level security quals into that subquery still pointing at
the table's place in the outer query, and the backend died of signal 11 (PostgreSQL then
resets every connection of the coordinator): a denial of service any app-role SQL could send.
What stops it is Citus built with docs/citus-rls-quals.patch (tests/citus_cluster.py builds
it so): the quals are renumbered, the query is planned, and the policies answer. Each attack
returns exactly the member's jobs, or, for a coordinator table's policies whose subqueries the
wrapping cannot carry, an error; the server is still up after it.

Runs only on the cluster of tests/citus_cluster.py; elsewhere every test here is skipped,
and says so."""

import pytest
from django.db import DatabaseError, OperationalError, connection, transaction

from divisions.scoping import acting_as, unscoped
from jobs.models import Job
from tests.citus.test_principal_on_workers import rows, titles
from tests.cluster import LOCAL_JOIN_REFUSED, ON_CLUSTER

pytestmark = [
    pytest.mark.postgres,
    ON_CLUSTER,
]

# A join of a coordinator table (its policies hold subqueries) with jobs, the database's refusal
# of such joins set back: planned, its subqueries fail with an error instead of a crash.
REFUSED_OR_ANSWERED = "a coordinator table joined with jobs, the database's refusal set back"

# {attack: SQL reading job titles, given the lowest and highest job id}.
ATTACKS = {
    "outer join from a set-returning function into jobs": (
        "SELECT j.title FROM generate_series(%(low)s, %(high)s) g "
        "LEFT JOIN jobs_job j ON j.id = g WHERE j.title IS NOT NULL"
    ),
    "outer join from VALUES into jobs": (
        "SELECT j.title FROM (VALUES (1)) v(x) "
        "LEFT JOIN jobs_job j ON j.id BETWEEN %(low)s AND %(high)s WHERE j.title IS NOT NULL"
    ),
    "outer join from a materialized CTE into jobs": (
        "WITH ids AS MATERIALIZED (SELECT generate_series(%(low)s, %(high)s) AS id) "
        "SELECT j.title FROM ids LEFT JOIN jobs_job j ON j.id = ids.id "
        "WHERE j.title IS NOT NULL"
    ),
    REFUSED_OR_ANSWERED: (
        "SET LOCAL citus.local_table_join_policy = 'auto'; "
        "SELECT j.title FROM jobs_job j JOIN divisions_division d "
        "ON d.id = j.division_id AND d.tenant_id = j.tenant_id "
        "WHERE %(low)s <= j.id AND j.id <= %(high)s"
    ),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_planning_a_policy_table_as_a_subquery_keeps_the_server_up(world, attack):
    """Alice (Head Office, Acme) sends the attack: she gets exactly her jobs (Head Office's,
    Electrical's, Plumbing's), and the coordinator still answers afterwards."""
    with unscoped("the range of job ids"):
        ids = sorted(Job.objects.values_list("pk", flat=True))
    bounds = {"low": ids[0], "high": ids[-1]}
    mine = {"Head Office job", "Electrical job", "Plumbing job"}
    try:
        with acting_as(world.u.alice), transaction.atomic():
            statements = ATTACKS[attack].split("; ")
            for statement in statements[:-1]:
                rows(statement)
            with connection.cursor() as cursor:
                cursor.execute(statements[-1], bounds)
                assert {title for (title,) in cursor.fetchall()} == mine
    except DatabaseError as refused:
        assert attack == REFUSED_OR_ANSWERED, refused
        assert LOCAL_JOIN_REFUSED not in str(refused), "the join was refused before planning"
        assert not isinstance(refused, OperationalError), refused  # a lost connection: a crash
    with acting_as(world.u.alice):
        assert titles() == mine


# MERGE statements whose source Citus may plan as a subquery of its own: {attack: SQL}.
MERGES = {
    "merge into jobs from notes": (
        "MERGE INTO jobs_job t USING jobs_jobnote s ON t.id = s.job_id WHEN MATCHED THEN DO NOTHING"
    ),
    "merge into jobs from jobs by id": (
        "MERGE INTO jobs_job t USING jobs_job s ON t.id = s.id WHEN MATCHED THEN DO NOTHING"
    ),
}


@pytest.mark.parametrize("attack", MERGES)
def test_a_merge_from_a_policy_table_keeps_the_server_up(world, attack):
    """Alice sends a MERGE that changes nothing, its source a table under row-level security:
    it is run or refused with an error, never a lost connection, and the coordinator still
    answers afterwards."""
    with unscoped("a note, so the source has a row"):
        world.jobs.hq.notes.create(tenant_id=world.jobs.hq.tenant_id, body="a note")
    try:
        with acting_as(world.u.alice), transaction.atomic():
            rows(MERGES[attack])
    except DatabaseError as refused:
        assert not isinstance(refused, OperationalError), refused  # a lost connection: a crash
    with acting_as(world.u.alice):
        assert titles() == {"Head Office job", "Electrical job", "Plumbing job"}
