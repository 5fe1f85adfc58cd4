"""Every sort order pages through exactly the visible jobs; the CSV export holds exactly the
list's jobs, in its order, with formulas neutralised."""

import csv
import io
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divisions.models import User
from divisions.scoping import acting_as, unscoped
from divisions.visibility.loaded_divisions import with_visible_divisions
from jobs import pagination, views
from jobs.models import Job
from jobs.pagination import NEWER, ORDERS, ordering, page_of
from tests import oracle
from tests.strategies import build, worlds

PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TITLES = ["Boiler", "boiler", "Roof", "=SUM(A1)", "Ärger", "Z"]


def shuffle_keys(data, job_ids):
    """Give the jobs few distinct titles, statuses and instants, so every order has ties."""
    instant = timezone.now()
    for pk in job_ids:
        Job.objects.filter(pk=pk).update(
            title=data.draw(st.sampled_from(TITLES)),
            status=data.draw(st.sampled_from(Job.Status.values)),
            created_at=instant - timedelta(seconds=data.draw(st.integers(0, 3))),
        )


def walk(user, order, backwards_from_the_end=False):
    """Every page of the user's jobs in `order`, forwards (then back, when asked), as lists."""
    with acting_as(user):
        pages, cursor = [], None
        while True:
            page = page_of(Job.objects.all(), cursor, order)
            pages.append([job.pk for job in page.jobs])
            if page.older is None:
                break
            cursor = page.older
            assert len(pages) < 100
        if backwards_from_the_end and len(pages) > 1:
            back = [pages[-1]]
            cursor = page.newer
            while cursor is not None:
                assert cursor.direction == NEWER
                page = page_of(Job.objects.all(), cursor, order)
                back.insert(0, [job.pk for job in page.jobs])
                cursor = page.newer
            assert back == pages
    return pages


@PROPERTY
@given(description=worlds(), order=st.sampled_from(list(ORDERS)), data=st.data())
def test_walking_all_pages_yields_every_visible_job_once(db, monkeypatch, description, order, data):
    monkeypatch.setattr(pagination, "PER_PAGE", 2)
    with unscoped("property test world"), transaction.atomic():
        try:
            users = build(description)
            world = oracle.snapshot()
            shuffle_keys(data, list(world.jobs))
            for user in users:
                pages = walk(user, order, backwards_from_the_end=True)
                walked = [pk for page in pages for pk in page]
                assert sorted(walked) == sorted(oracle.visible_jobs(world, user)), user.username
                # In the order of one ORDER BY over the same rows (the database's collation).
                with acting_as(user):
                    in_order = list(
                        Job.objects.order_by(*ordering(order)).values_list("pk", flat=True)
                    )
                assert walked == in_order, (user.username, order)
        finally:
            transaction.set_rollback(True)


class TestListSort:
    @pytest.mark.parametrize("value", ["newest ", "NEWEST", "random", "-created_at", "title,id"])
    def test_a_bad_sort_is_a_400(self, client, world, value):
        client.force_login(world.u.alice)
        assert client.get("/jobs/", {"sort": value}).status_code == 400
        assert client.get("/jobs/export.csv", {"sort": value}).status_code == 400

    def test_links_keep_the_sort(self, client, world):
        with unscoped("more jobs"):
            for n in range(30):
                Job.objects.create(tenant=world.tenants.acme, division=world.d.hq, title=f"T{n}")
        client.force_login(world.u.alice)
        response = client.get("/jobs/", {"sort": "title"})
        assert "sort=title" in response.context["older_url"]
        assert response.context["export_url"] == "/jobs/export.csv?sort=title"
        assert 'href="/jobs/export.csv?sort=title"' in response.content.decode()

    def test_a_cursor_of_another_order_means_the_first_page(self, client, world):
        with unscoped("more jobs"):
            for n in range(30):
                Job.objects.create(tenant=world.tenants.acme, division=world.d.hq, title=f"T{n}")
        client.force_login(world.u.alice)
        older = client.get("/jobs/", {"sort": "title"}).context["older_url"]
        cursor = dict(part.split("=") for part in older[1:].split("&"))["page"]
        response = client.get("/jobs/", {"sort": "oldest", "page": cursor})
        assert response.status_code == 200
        assert response.context["page"].number == 1


def export(client, **params):
    response = client.get(f"/jobs/export.csv?{urlencode(params)}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def expected_ids(world, user, titles, statuses, q, status, division):
    return {
        pk
        for pk in oracle.visible_jobs(world, user)
        if q.lower() in titles[pk].lower()
        and status in ("", statuses[pk])
        and division in ("", str(world.jobs[pk][1]))
    }


@PROPERTY
@given(
    description=worlds(),
    data=st.data(),
    q=st.sampled_from(["", "oil", "B", "j", "=", "zz"]),
    status=st.sampled_from(["", *Job.Status.values]),
    sort=st.sampled_from(list(ORDERS)),
)
def test_the_export_holds_exactly_the_oracles_jobs(db, client, description, data, q, status, sort):
    with unscoped("property test world"), transaction.atomic():
        try:
            users = build(description)
            world = oracle.snapshot()
            shuffle_keys(data, list(world.jobs))
            titles = dict(QuerySet(Job).values_list("pk", "title"))
            statuses = dict(QuerySet(Job).values_list("pk", "status"))
            for user in users:
                if not oracle.is_principal(user):
                    continue
                pickable = sorted(oracle.pickable_divisions(world, user))
                division = data.draw(st.sampled_from(["", *map(str, pickable)]))
                client.force_login(user)
                rows = export(client, q=q, status=status, division=division, sort=sort)
                assert rows[0] == ["id", "title", "status", "division", "created_at", "updated_at"]
                got = [int(row[0]) for row in rows[1:]]
                assert len(got) == len(set(got))
                assert set(got) == expected_ids(world, user, titles, statuses, q, status, division)
        finally:
            transaction.set_rollback(True)


class TestExport:
    def test_the_export_is_the_list_across_its_pages_in_its_order(self, client, world):
        with unscoped("more jobs"):
            for n in range(60):
                Job.objects.create(
                    tenant=world.tenants.acme, division=world.d.electrical, title=f"Job {n % 7}"
                )
        client.force_login(world.u.sam)
        listed, url = [], "/jobs/?sort=title"
        while url:
            response = client.get(url)
            listed += [job.pk for job in response.context["page"].jobs]
            older = response.context["older_url"]
            url = f"/jobs/{older}" if older else None
        rows = export(client, sort="title")
        assert [int(row[0]) for row in rows[1:]] == listed

    @pytest.mark.parametrize(
        "title",
        [
            '=HYPERLINK("http://x")',
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tcmd",
            "\rcmd",
            " =1+1",
            "\n=1+1",
            "＝1+1",
        ],
    )
    def test_formulas_are_neutralised(self, client, world, title):
        """CSV injection: a title a spreadsheet would run as a formula is exported as text."""
        with unscoped("a hostile title"):
            Job.objects.filter(pk=world.jobs.sparks.pk).update(title=title)
        client.force_login(world.u.sam)
        rows = export(client, division=str(world.d.sparks.pk))
        assert rows[1][1] == "'" + title
        assert rows[1][3] == "Sparks"

    def test_no_scope_no_export(self, client, world):
        response = client.get("/jobs/export.csv")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_the_export_streams_in_chunks(self, client, world, monkeypatch):
        monkeypatch.setattr(views, "EXPORT_CHUNK", 2)
        client.force_login(world.u.acme_admin)
        response = client.get("/jobs/export.csv")
        chunks = list(response.streaming_content)
        assert len(chunks) >= 3
        assert sum(chunk.count(b"\n") for chunk in chunks) == 1 + 5


@pytest.mark.postgres
@pytest.mark.parametrize("order", ["title", "status"])
def test_a_later_sorted_page_starts_its_index_scan_at_the_cursor(world, order):
    """sort=title|status: a later page reads the order from its index (job_tenant_title or
    job_tenant_status), starting at the cursor's value, rather than sorting every visible job
    or walking from the list's start.
    Sorts and sequential scans are priced out so the tiny test table shows the plan a large
    one gets."""
    from django.db import connection

    admin = world.u.acme_admin
    with acting_as(admin), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("SET LOCAL enable_seqscan = off")
        first = page_of(Job.objects.all(), None, order)
        cursor = pagination.Cursor.after("o", 2, first.jobs[-1], order)
        later = Job.objects.filter(pagination._beyond(cursor.key(order)))
        plan = later.order_by(*ordering(order))[:26].explain()
    assert f"job_tenant_{order}" in plan, plan
    assert "Sort Key" not in plan, plan
    conditions = [line for line in plan.splitlines() if "Index Cond" in line]
    assert any(f"{order})::text >=" in line for line in conditions), plan


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_one_division_members_title_order_comes_from_the_division_index(world):
    """Gina sees one division's jobs (Field's): her list by title reads the division title
    index (job_division_title) in order, with no sort. Sent as `division_id = ANY(array)`, her
    one division would have no index scan give the order (PostgreSQL 15), and at a million jobs
    the page took 4x the floor's (benchmarks/journal.md). Sorts and sequential scans are priced
    out so the tiny test table shows the plan a large one gets.

    The world is committed and the owner analyses the table first: with statistics left from
    other tests' rows, both her tenant and her division look as rare as each other, and the
    planner may read the tenant's title index instead, filtering her division."""
    import psycopg
    from django.db import connection

    from tests.pg_setup import owner_conninfo

    with psycopg.connect(**owner_conninfo(), autocommit=True) as owner:
        owner.execute("ANALYZE jobs_job")

    with acting_as(world.u.gina):  # as a request loads her (divisions.middleware)
        gina = with_visible_divisions(lambda: User.objects.get(pk=world.u.gina.pk))
    assert [pk for pk, _ in gina._loaded_divisions.divisions] == [world.d.field.pk]
    with acting_as(gina), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("SET LOCAL enable_seqscan = off")
        plan = Job.objects.order_by(*ordering("title"))[:26].explain()
    assert "job_division_title" in plan, plan
    assert "Sort Key" not in plan, plan
