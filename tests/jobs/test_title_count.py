"""The list's capped total for a title search on PostgreSQL (proone_title_matches): any
matches count as the newest do, on each way the database reads them."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from divisions import rls
from divisions.scoping import acting_as, unscoped
from jobs.models import Job
from jobs.pagination import COUNT_CAP, PER_PAGE, capped_count, page_of
from jobs.views import filtered_jobs
from tests.factories import DivisionFactory, TenantAdminFactory, UserFactory, allow

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

DIVISIONS = 4  # more than 3: a rare word among them is the trigram index's
JOBS_EACH = 120  # more than each division's share of the 300-job sample (not all of them)
EVERY = 4  # one job in four is a "boiler" job
CALL = "SELECT count(*), array_agg(x) FROM public.{}(%s, NULL, %s, %s, NULL, NULL) x"


@pytest.fixture
def yard(world):
    """Acme grows: four divisions a new member sees (with Plumbing, everyone's: five, read
    division by division), JOBS_EACH jobs each, "Boiler" in every EVERY-th title and "Gasket"
    in one older title each; and ten divisions a wide member sees (twelve: the tenant walked)."""
    acme = world.tenants.acme
    divisions = [DivisionFactory(tenant=acme, name=f"Yard {n}") for n in range(DIVISIONS)]
    member = UserFactory(division=divisions[0], username="yard-member")
    for division in divisions[1:]:
        allow(division, divisions[0])
    wide_home = DivisionFactory(tenant=acme, name="Wide")
    wide = UserFactory(division=wide_home, username="yard-wide")
    more = [DivisionFactory(tenant=acme, name=f"More {n}") for n in range(10)]
    for division in more:
        allow(division, wide_home)
    now = timezone.now()
    with unscoped("test world"):
        Job.objects.bulk_create(
            Job(
                tenant=acme,
                division=division,
                title=("Boiler" if n % EVERY == 0 else "Pump") + (" gasket" if n == 100 else ""),
                created_at=now - timedelta(minutes=n * 20 + at),
            )
            for at, division in enumerate(divisions + more)
            for n in range(JOBS_EACH)
        )
    return member, wide, divisions


def call(function, term, wanted, division_id=None):
    with connection.cursor() as cursor:
        cursor.execute(CALL.format(function), [term, division_id, wanted])
        count, ids = cursor.fetchone()
    return count, set(ids or ())


def visible_matches(term, division_id=None):
    """The oracle: every visible job whose title holds `term` (in the division), as the ORM
    sees them."""
    jobs = Job.objects.filter(title__icontains=term)
    if division_id is not None:
        jobs = jobs.filter(division_id=division_id)
    return set(jobs.values_list("pk", flat=True))


def test_any_matches_are_as_many_visible_matches_as_the_newest(world, yard):
    """For a member of five divisions (sampled, then read on by division or, for a rare word,
    by the trigram index), of twelve (the tenant walked), a tenant admin (the tenant walked)
    and a division filter (read on there): proone_title_matches returns as many ids as
    proone_title_search, up to `wanted`, each a visible match."""
    member, wide, divisions = yard
    admin = TenantAdminFactory(tenant=world.tenants.acme, username="yard-admin")
    askers = ((member, None), (wide, None), (admin, None), (member, divisions[2].pk))
    for user, division_id in askers:
        for term in ("boiler", "gasket", "pump", "nothing-matches"):
            with acting_as(user):
                matches = visible_matches(term, division_id)
                for wanted in (1, 5, 40, COUNT_CAP + 1):
                    newest = call(rls.TITLE_SEARCH, term, wanted, division_id)
                    found = call(rls.TITLE_MATCHES, term, wanted, division_id)
                    asked = (user.username, division_id, term, wanted)
                    assert found[0] == newest[0] == min(len(matches), wanted), asked
                    assert found[1] <= matches, asked


def test_the_capped_count_reads_any_matches_and_the_page_the_newest(world, yard):
    """The list's total narrows to proone_title_matches, its page to proone_title_search;
    both count the ORM's filter and the policy after them."""
    member = yard[0]
    with acting_as(member):
        jobs = filtered_jobs({"q": "boiler", "status": "", "division": None})
        with CaptureQueriesContext(connection) as counted:
            total = capped_count(jobs)
        with CaptureQueriesContext(connection) as paged:
            page = page_of(jobs, None)
        assert total == len(visible_matches("boiler")) == DIVISIONS * JOBS_EACH // EVERY
        assert len(page.jobs) == PER_PAGE and page.older is not None
    (count_sql,) = [query["sql"] for query in counted.captured_queries if "COUNT" in query["sql"]]
    assert "proone_title_matches(" in count_sql and "proone_title_search(" not in count_sql
    page_sql = " ".join(query["sql"] for query in paged.captured_queries)
    assert "proone_title_search(" in page_sql and "proone_title_matches(" not in page_sql


def test_before_migration_0014_the_count_reads_the_newest(world, yard, monkeypatch):
    """Code deployed before its migration: without proone_title_matches the total narrows to
    proone_title_search, and counts the same."""
    member = yard[0]
    real = rls.title_search_functions
    monkeypatch.setattr(
        rls,
        "title_search_functions",
        lambda using="default": real(using) - {rls.TITLE_MATCHES},
    )
    with acting_as(member):
        jobs = filtered_jobs({"q": "boiler", "status": "", "division": None})
        with CaptureQueriesContext(connection) as captured:
            assert capped_count(jobs) == DIVISIONS * JOBS_EACH // EVERY
    (sql,) = [query["sql"] for query in captured.captured_queries if "COUNT" in query["sql"]]
    assert "proone_title_search(" in sql and "proone_title_matches(" not in sql


def test_a_search_asks_once_which_title_search_functions_exist(world, yard):
    """Asked once, both functions in one statement (the page and its count), then
    remembered: a search never asks again for each function it may use."""
    rls._searchable.clear()
    member = yard[0]

    def asked(captured):
        return sum("to_regprocedure" in query["sql"] for query in captured.captured_queries)

    with acting_as(member):
        jobs = filtered_jobs({"q": "boiler", "status": "", "division": None})
        with CaptureQueriesContext(connection) as first:
            page_of(jobs, None)
            capped_count(jobs)
        with CaptureQueriesContext(connection) as again:
            page_of(jobs, None)
            capped_count(jobs)
    assert (asked(first), asked(again)) == (1, 0)
