"""A user loaded for a request brings the divisions whose jobs they may see, worked out by the
ORM's rule in the user row's own statement (divisions.visibility.loaded_divisions): the
request's queries name that list, one statement each, and a change to what it comes from
counts from the next query."""

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from divisions.models import DataScopeDivision, Division, User
from divisions.scoping import acting_as, unscoped
from divisions.visibility.loaded_divisions import with_visible_divisions
from divisions.visibility.why import why_visible_case
from jobs.models import Job
from tests import oracle
from tests.api.conftest import bearer, mint
from tests.factories import DivisionFactory, JobFactory, UserFactory

# On SQLite the user row brings no list: the rule stays a subquery (every other test).
pytestmark = pytest.mark.postgres

SUBQUERY = "ANY(ARRAY(SELECT"


def loaded(user):
    """`user` as a request loads it (divisions.middleware)."""
    with acting_as(user):
        return with_visible_divisions(lambda: User.objects.get(pk=user.pk))


def visible(user):
    """The ids of the jobs `user` sees, and the SQL the ORM sent for them."""
    with acting_as(user), CaptureQueriesContext(connection) as captured:
        found = set(Job.objects.values_list("pk", flat=True))
    return found, " ".join(query["sql"] for query in captured)


def test_the_list_comes_with_the_user_row_and_each_query_names_it(world):
    with CaptureQueriesContext(connection) as captured:
        alice = loaded(world.u.alice)
    reads = [query["sql"] for query in captured if "SAVEPOINT" not in query["sql"]]
    assert len(reads) == 1 and "ARRAY(SELECT" in reads[0], reads
    found, sql = visible(alice)
    assert found == oracle.visible_jobs(oracle.snapshot(), world.u.alice)
    assert '"division_id" = ANY(' in sql and SUBQUERY not in sql


def test_the_list_is_one_parameter_however_many_divisions_it_names(world):
    """psycopg parses a statement with more than 50 parameters again on every execution: a
    member who sees a hundred divisions must not send a parameter per division."""
    with unscoped("test: 60 more divisions of Alice's tenant show their jobs to everyone"):
        for n in range(60):
            scope = DivisionFactory(tenant=world.u.alice.tenant, name=f"Extra {n}").data_scope
            scope.is_everyone = True
            scope.save()
    alice = loaded(world.u.alice)
    assert len(alice._loaded_divisions.divisions) > 60
    sent = []

    def record(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with acting_as(alice), connection.execute_wrapper(record):
        found = set(Job.objects.values_list("pk", flat=True))
    assert found == oracle.visible_jobs(oracle.snapshot(), world.u.alice)
    jobs = [params for sql, params in sent if 'FROM "jobs_job"' in sql]
    assert jobs and all(len(params) < 5 for params in jobs), jobs


def test_each_jobs_case_from_the_user_row_is_the_rules_own(world):
    """The detail page's "why" for a loaded user comes from the case each division's row
    brought, a test of the job's division column with no join to divisions and scopes; for
    every job it names the case the rule's own annotation (a user loaded without the list)
    names, and none is left without one. After a write to what the rule reads, the rule's
    own CASE is back (the scope table in the statement)."""
    for plain in (world.u.alice, world.u.sam, world.u.elle, world.u.gina, world.u.nodiv):
        user = loaded(plain)
        with acting_as(user), CaptureQueriesContext(connection) as captured:
            from_row = dict(
                Job.objects.annotate(why=why_visible_case(user)).values_list("pk", "why")
            )
        with acting_as(plain):
            from_rule = dict(
                Job.objects.annotate(why=why_visible_case(plain)).values_list("pk", "why")
            )
        assert from_row == from_rule, plain
        assert from_row and None not in from_row.values(), plain
        assert "divisions_datascope" not in captured[-1]["sql"], captured[-1]["sql"]
    gina = loaded(world.u.gina)
    with unscoped("test: Field's scope saved after Gina's row was loaded"):
        world.d.field.data_scope.save()
    with acting_as(gina), CaptureQueriesContext(connection) as captured:
        list(Job.objects.annotate(why=why_visible_case(gina)).values_list("pk", "why"))
    assert "divisions_datascope" in captured[-1]["sql"], captured[-1]["sql"]


def test_a_page_names_the_list_in_every_job_statement(client, world):
    client.force_login(world.u.alice)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/jobs/")
    assert response.status_code == 200
    shown = {job.pk for job in response.context["page"].jobs}
    assert shown == oracle.visible_jobs(oracle.snapshot(), world.u.alice)
    jobs = [query["sql"] for query in captured if 'FROM "jobs_job"' in query["sql"]]
    assert jobs and all(SUBQUERY not in sql for sql in jobs), jobs


def test_the_division_filter_lists_them_without_a_statement_of_its_own(client, world):
    """The list page's division choices are the pairs the user row brought: the divisions
    whose jobs the member sees, by name, and no statement of its own reads the divisions."""
    client.force_login(world.u.elle)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/jobs/")
    choices = response.context["form"].fields["division"].choices[1:]
    world_now = oracle.snapshot()
    expected = sorted(
        (division.name, division.pk)
        for division in vars(world.d).values()
        if oracle.may_see_division_jobs(world_now, world.u.elle, division.pk)
    )
    assert choices == [(str(pk), name) for name, pk in expected]
    assert not [q["sql"] for q in captured if q["sql"].startswith('SELECT "divisions_division"')]


def test_an_access_tokens_user_brings_the_list_too(client, world):
    _, token = mint(world.u.elle)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/jobs/", **bearer(token))
    assert response.status_code == 200
    shown = {job["id"] for job in response.json()["results"]}
    assert shown == oracle.visible_jobs(oracle.snapshot(), world.u.elle)
    jobs = [query["sql"] for query in captured if 'FROM "jobs_job"' in query["sql"]]
    assert jobs and all(SUBQUERY not in sql for sql in jobs), jobs


def test_a_scope_change_counts_from_the_next_query(world):
    """Sparks' scope lists Head Office, then no longer does, inside one request of alice's:
    Sparks' job shows, then hides (divisions.signals retires the list she was loaded with)."""
    alice, scope = loaded(world.u.alice), world.d.sparks.data_scope
    assert world.jobs.sparks.pk not in visible(alice)[0]
    with unscoped("test: list Head Office in Sparks' scope"):
        scope.set_divisions([world.d.hq])
    assert world.jobs.sparks.pk in visible(alice)[0]
    with unscoped("test: and take it out again"):
        scope.set_divisions([])
    assert world.jobs.sparks.pk not in visible(alice)[0]
    with unscoped("test: Sparks shows its jobs to everyone"):
        scope.is_everyone = True
        scope.save()
    assert world.jobs.sparks.pk in visible(alice)[0]


def test_a_listing_written_as_its_own_row_counts_from_the_next_query(world):
    alice = loaded(world.u.alice)
    assert world.jobs.sparks.pk not in visible(alice)[0]
    with unscoped("test: list Head Office in Sparks' scope, row by row"):
        DataScopeDivision.objects.create(
            tenant=world.tenants.acme, datascope=world.d.sparks.data_scope, division=world.d.hq
        )
    assert world.jobs.sparks.pk in visible(alice)[0]


def test_a_member_who_sees_no_division_still_sees_the_tenants_divisions_without_jobs(world):
    """An empty list is not named (IN () would empty every query it is joined into): the
    divisions of the tenant still show, each with no visible job."""
    private = DivisionFactory()
    JobFactory(division=private)
    nobody = loaded(UserFactory(division=None, tenant=private.tenant))
    with acting_as(nobody):
        counted = {d.pk: d.jobs_seen for d in Division.objects.annotate(jobs_seen=Count("jobs"))}
        assert Job.objects.count() == 0
    assert counted == {private.pk: 0}


def test_a_move_to_another_division_counts_from_the_next_query(world):
    alice = loaded(world.u.alice)
    with unscoped("test: move alice to Sparks"):
        moved = User.objects.get(pk=alice.pk)
        moved.division = world.d.sparks
        moved.save()
    # Another object of the same user was saved: alice's own copy is stale, and the list is
    # not used for it any more; the database acts for the row as it now is.
    found, sql = visible(alice)
    assert SUBQUERY in sql
    assert world.jobs.hq.pk not in found


def test_a_changed_division_on_the_object_is_not_served_the_old_list(world):
    """Code that sets a loaded user's division without saving gets the rule for the object as
    it is (a subquery), not the list read for the division it had."""
    alice = loaded(world.u.alice)
    alice.division_id = world.d.sparks.pk
    found, sql = visible(alice)
    assert SUBQUERY in sql
    # The ORM now asks for Sparks' view, the database still acts for Head Office: only what
    # both allow shows.
    assert world.jobs.hq.pk not in found


def test_the_next_request_reads_what_another_process_wrote(world):
    """A write the process did not see (raw SQL, another process) counts from the next load."""
    alice = loaded(world.u.alice)
    assert world.jobs.sparks.pk not in visible(alice)[0]
    writing = "test: another process lists Head Office in Sparks' scope"
    with unscoped(writing), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO divisions_datascopedivision (tenant_id, datascope_id, division_id)"
            " VALUES (%s, %s, %s)",
            [world.tenants.acme.pk, world.d.sparks.data_scope_id, world.d.hq.pk],
        )
    assert world.jobs.sparks.pk in visible(loaded(world.u.alice))[0]
