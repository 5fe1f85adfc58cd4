"""The portal pages: each user sees exactly the oracle's jobs, and nothing else leaks."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from divisions.scoping import unscoped
from jobs.models import Job
from jobs.pagination import COUNT_CAP, PER_PAGE, Cursor
from tests.factories import DivisionFactory, JobFactory, UserFactory
from tests.forms import status_form
from tests.oracle import pickable_divisions, snapshot, visible_jobs

LIST = "/jobs/"
MEMBERS = ["alice", "sam", "elle", "nodiv", "gina", "acme_admin", "globex_admin", "staff_only"]


@pytest.fixture
def crowd(world):
    """The world plus enough jobs for several pages, many sharing one created_at (ties)."""
    instant = timezone.now() - timedelta(days=1)
    divisions = [world.d.hq, world.d.electrical, world.d.sparks, world.d.plumbing, world.d.field]
    for n in range(130):
        division = divisions[n % len(divisions)]
        JobFactory(
            division=division,
            title=f"{'Boiler' if n % 3 == 0 else 'Roof'} repair {n}",
            status=Job.Status.DONE if n % 4 == 0 else Job.Status.OPEN,
            # Runs of equal timestamps straddle page boundaries: the id breaks the tie.
            created_at=instant - timedelta(minutes=n // 7),
        )
    return world


def list_all(client, query=""):
    """Every job id on every page of the list, in order, following the "older" links."""
    ids, url, pages = [], f"{LIST}?{query}", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        ids += [job.pk for job in response.context["page"].jobs]
        pages += 1
        older = response.context["older_url"]
        url = f"{LIST}{older}" if older else None
        assert pages < 100
    return ids, pages


def jobs_by_id(ids):
    """The jobs with these ids, read straight from the table (not through the scope); as
    system work, since on PostgreSQL the database itself hides rows outside a scope."""
    with unscoped("test truth"):
        return {job.pk: job for job in QuerySet(Job).filter(pk__in=ids)}


def newest_first(ids):
    """The ids in the list's order: created_at descending, then id descending."""
    jobs = jobs_by_id(ids)
    return sorted(ids, key=lambda pk: (jobs[pk].created_at, pk), reverse=True)


class TestListShowsExactlyTheOraclesJobs:
    @pytest.mark.parametrize("who", MEMBERS)
    def test_every_page_together_is_the_oracles_set_in_order(self, client, crowd, who):
        user = getattr(crowd.u, who)
        client.force_login(user)
        ids, pages = list_all(client)
        expected = visible_jobs(snapshot(), user)
        assert set(ids) == expected
        assert len(ids) == len(set(ids)), "a job appeared on two pages"
        assert ids == newest_first(expected)
        assert pages == max(1, -(-len(expected) // PER_PAGE))

    @pytest.mark.parametrize("who", MEMBERS)
    @pytest.mark.parametrize(
        ("query", "keep"),
        [
            ("q=boiler", lambda job: "boiler" in job.title.lower()),
            ("q=BOILER&status=done", lambda job: "boiler" in job.title.lower()
             and job.status == Job.Status.DONE),
            ("q=repair+1", lambda job: "repair 1" in job.title.lower()),
            ("q=roof&division=electrical", lambda job: "roof" in job.title.lower()
             and job.division_id == job.electrical_id),
        ],
    )  # fmt: skip
    def test_every_page_of_a_search_is_the_oracles_matches_in_order(
        self, client, crowd, who, query, keep
    ):
        """On PostgreSQL the search is narrowed to the ids the database's title search finds
        for each page and for the total (proone_title_search, proone_title_matches): the same
        rows."""
        user = getattr(crowd.u, who)
        client.force_login(user)
        query = query.replace("electrical", str(crowd.d.electrical.pk))
        if "division" in query and crowd.d.electrical.pk not in pickable_divisions(
            snapshot(), user
        ):
            assert client.get(f"{LIST}?{query}").status_code == 400
            return
        ids, _ = list_all(client, query)
        visible = jobs_by_id(visible_jobs(snapshot(), user))
        for job in visible.values():
            job.electrical_id = crowd.d.electrical.pk
        expected = {pk for pk, job in visible.items() if keep(job)}
        assert ids == newest_first(expected)
        first = client.get(f"{LIST}?{query}")
        assert first.context["total"] == len(expected)

    @pytest.mark.parametrize("who", MEMBERS)
    def test_division_choices_are_the_divisions_whose_jobs_the_user_sees(self, client, world, who):
        user = getattr(world.u, who)
        client.force_login(user)
        choices = client.get(LIST).context["form"].fields["division"].choices
        assert {int(value) for value, _ in choices if value} == pickable_divisions(snapshot(), user)

    def test_paging_back_returns_the_same_pages(self, client, crowd):
        client.force_login(crowd.u.alice)
        forward, url = [], LIST
        for _ in range(3):
            response = client.get(url)
            forward.append([job.pk for job in response.context["page"].jobs])
            url = LIST + response.context["older_url"]
        response = client.get(url)
        for expected in reversed(forward):
            url = LIST + response.context["newer_url"]
            response = client.get(url)
            assert [job.pk for job in response.context["page"].jobs] == expected
        assert response.context["page"].number == 1
        assert response.context["newer_url"] is None

    def test_the_count_of_a_search_is_capped(self, client, world):
        JobFactory.create_batch(COUNT_CAP + 5, division=world.d.sparks, title="Boiler check")
        JobFactory.create_batch(30, division=world.d.hq, title="Boiler check")
        client.force_login(world.u.sam)
        response = client.get(LIST, {"q": "boiler"})
        assert response.context["total_capped"]
        response = client.get(LIST, {"q": "boiler", "division": world.d.hq.pk})
        assert response.status_code == 400  # hq is not one of sam's divisions
        client.force_login(world.u.alice)
        response = client.get(LIST, {"q": "boiler"})
        assert response.context["total"] == 30

    def test_the_count_is_capped(self, client, world):
        JobFactory.create_batch(COUNT_CAP + 5, division=world.d.sparks)
        client.force_login(world.u.sam)
        response = client.get(LIST)
        assert response.context["total_capped"]
        assert f"more than {COUNT_CAP}" in response.content.decode()

    def test_job_rows_link_to_their_detail_page(self, client, world):
        client.force_login(world.u.sam)
        body = client.get(LIST).content.decode()
        linked = {int(pk) for pk in re.findall(r'href="/jobs/(\d+)/"', body)}
        assert linked == visible_jobs(snapshot(), world.u.sam)


class TestFilters:
    @pytest.mark.parametrize(
        ("who", "query", "keep"),
        [
            ("alice", "q=boiler", lambda job: "boiler" in job.title.lower()),
            ("alice", "q=BOILER+REPAIR", lambda job: "boiler repair" in job.title.lower()),
            ("sam", "status=done", lambda job: job.status == "done"),
            (
                "elle",
                "q=roof&status=open",
                lambda job: "roof" in job.title.lower() and job.status == "open",
            ),
            ("gina", "q=nothing-has-this-title", lambda job: False),
        ],
    )
    def test_filters_narrow_the_oracles_set(self, client, crowd, who, query, keep):
        user = getattr(crowd.u, who)
        client.force_login(user)
        ids, _ = list_all(client, query)
        visible = jobs_by_id(visible_jobs(snapshot(), user))
        assert set(ids) == {pk for pk, job in visible.items() if keep(job)}

    @pytest.mark.parametrize("who", ["alice", "sam", "acme_admin", "gina"])
    def test_each_pickable_division_lists_its_visible_jobs(self, client, crowd, who):
        user = getattr(crowd.u, who)
        client.force_login(user)
        world = snapshot()
        visible = visible_jobs(world, user)
        for division_id in pickable_divisions(world, user):
            ids, _ = list_all(client, f"division={division_id}")
            assert set(ids) == {pk for pk in visible if world.jobs[pk][1] == division_id}

    def test_a_hidden_division_is_refused_like_a_missing_one(self, client, world):
        client.force_login(world.u.sam)
        hidden = client.get(LIST, {"division": world.d.hq.pk})
        foreign = client.get(LIST, {"division": world.d.ops.pk})
        missing = client.get(LIST, {"division": 987654})
        assert hidden.status_code == foreign.status_code == missing.status_code == 400
        assert _main(hidden) == _main(foreign) == _main(missing)
        assert "page" not in hidden.context

    def test_filters_survive_paging(self, client, crowd):
        client.force_login(crowd.u.acme_admin)
        response = client.get(LIST, {"q": "repair", "status": "open"})
        older = response.context["older_url"]
        assert "q=repair" in older and "status=open" in older

    def test_empty_states_say_why(self, client, world):
        client.force_login(world.u.sam)
        body = client.get(LIST, {"q": "no such title"}).content.decode()
        assert "No jobs match these filters" in body
        client.force_login(world.u.operator)
        body = client.get(LIST).content.decode()
        assert "No jobs are shared with you yet" in body
        assert "No jobs match" not in client.get(LIST, {"q": "x"}).content.decode()

    def test_a_member_with_nothing_shared_is_told_whom_to_ask(self, client, world):
        client.force_login(UserFactory(division=DivisionFactory(), username="newcomer"))
        body = client.get(LIST).content.decode()
        assert "No jobs are shared with you yet" in body
        assert "ask your tenant admin" in body


def _main(response):
    body = response.content.decode()
    return body[body.index("<main") : body.index("</main>")]


class TestDetail:
    @pytest.mark.parametrize("who", [*MEMBERS, "operator"])
    def test_open_exactly_the_oracles_jobs_and_404_alike_for_the_rest(self, client, world, who):
        user = getattr(world.u, who)
        client.force_login(user)
        state = snapshot()
        visible = visible_jobs(state, user)
        missing = client.get("/jobs/99999999/")
        assert missing.status_code == 404
        for job_id in state.jobs:
            response = client.get(f"/jobs/{job_id}/")
            if job_id in visible:
                assert response.status_code == 200
                assert response.context["job"].pk == job_id
            else:
                assert response.status_code == 404
                assert response.content == missing.content
                assert response["Content-Type"] == missing["Content-Type"]

    def test_every_kind_of_not_found_is_the_same_page(self, client, world):
        client.force_login(world.u.sam)
        bodies = {
            client.get(path).content
            for path in [
                f"/jobs/{world.jobs.hq.pk}/",
                f"/jobs/{world.jobs.ops.pk}/",
                "/jobs/999999/",
                "/jobs/99999999999999999999999/",
                "/jobs/abc/",
            ]
        }
        assert len(bodies) == 1

    def test_the_404_body_does_not_echo_the_id(self, client, world):
        client.force_login(world.u.sam)
        body = client.get(f"/jobs/{world.jobs.hq.pk}/").content.decode()
        assert "Page not found" in body
        assert f"/jobs/{world.jobs.hq.pk}/" not in body
        assert "Head Office" not in body

    def test_shows_every_field(self, client, world):
        job = world.jobs.electrical
        with unscoped("test edit"):
            Job.objects.filter(pk=job.pk).update(
                description="Line one\nLine <two>", status=Job.Status.IN_PROGRESS
            )
        client.force_login(world.u.sam)
        body = client.get(job.get_absolute_url()).content.decode()
        for text in [
            job.title,
            "In progress",
            "Electrical",
            "Acme",
            f"#{job.pk}",
            "Line one<br>Line &lt;two&gt;",
            "Created",
            "Last updated",
        ]:
            assert text in body

    @pytest.mark.parametrize(
        "path",
        [
            "/jobs/0/",
            "/jobs/-1/",
            "/jobs/abc/",
            "/jobs/1.5/",
            "/jobs/99999999999999999999999/",
            "/jobs/9223372036854775808/",
            "/jobs/9223372036854775807/",
            "/jobs/%00/",
            "/jobs/١/",
        ],
    )
    def test_odd_ids_are_not_found(self, client, world, path):
        client.force_login(world.u.acme_admin)
        assert client.get(path).status_code == 404


class TestBadInput:
    @pytest.mark.parametrize(
        "query",
        [
            "page=2",
            "page=-1",
            "page=abc",
            "page=" + "9" * 400,
            "page=o.2.1.1&page=zz",
            "page=o.2.99999999999999999.1",
            "page=n.2.-999999999999999999.9223372036854775807",
            "page=o.0.1.1",
            "status=open&status=nope",
            "status=" + "x" * 5000,
            "division=abc",
            "division=-1",
            "division=" + "9" * 60,
            "division=1&division=2",
            "q=" + "a" * 201,
            "q=" + "a" * 200,
            "q=%00",
            "q=%F0%9F%92%A5",
            "q=%ff%fe",
            "q=%E2%80%AE",
            "q=%",
            "%zz=1",
            "q[]=1",
            "q=a&q=b",
            "=&&=",
            "q=%0d%0aSet-Cookie:x",
        ],
    )
    def test_never_a_server_error(self, client, world, query):
        client.force_login(world.u.alice)
        response = client.get(f"{LIST}?{query}")
        assert response.status_code in (200, 400)

    def test_malformed_page_cursor_shows_the_first_page(self, client, world):
        client.force_login(world.u.alice)
        first = client.get(LIST)
        odd = client.get(LIST, {"page": "o.9.not-a-cursor"})
        assert odd.status_code == 200
        assert odd.context["page"].jobs == first.context["page"].jobs

    def test_an_overlong_search_is_refused_with_a_message(self, client, world):
        client.force_login(world.u.alice)
        response = client.get(LIST, {"q": "x" * 201})
        assert response.status_code == 400
        assert "at most 200 characters" in response.content.decode()

    def test_a_nul_byte_is_refused_with_a_message(self, client, world):
        client.force_login(world.u.alice)
        response = client.get(f"{LIST}?q=a%00b")
        assert response.status_code == 400
        assert "Null characters are not allowed" in response.content.decode()

    def test_a_cursor_past_the_end_says_so(self, client, world):
        client.force_login(world.u.alice)
        cursor = Cursor("o", 7, timezone.now() - timedelta(days=3650), 1)
        response = client.get(LIST, {"page": str(cursor)})
        assert response.status_code == 200
        assert "No more jobs" in response.content.decode()


# On PostgreSQL each request is a transaction acting for its user (divisions.scoping); inside
# the test's own transaction that is a SAVEPOINT and a RELEASE, which are counted. The
# statements that set the principal and load the session are bound server-side through a raw
# cursor (rls.execute_bound) and are not counted (docs/security.md); on SQLite the session
# look-up is an ordinary ORM query.
REQUEST_TRANSACTION = 2 if connection.vendor == "postgresql" else 0
SESSION = 0 if connection.vendor == "postgresql" else 1
# A member's division choices: on PostgreSQL the user row brings them (and the ids the rule
# names: divisions.visibility.loaded_divisions); on SQLite they are a query of their own.
CHOICES = 0 if connection.vendor == "postgresql" else 1


class TestQueryCount:
    # session, user (with the tenant and division the header shows), division choices (SQLite;
    # the user row brings them on PostgreSQL), capped count, the page's rows (jobs joined with
    # their division).
    LIST_QUERIES = 3 + CHOICES + SESSION + REQUEST_TRANSACTION

    def test_first_and_deeper_pages_are_pinned(self, client, crowd, django_assert_num_queries):
        client.force_login(crowd.u.alice)
        with django_assert_num_queries(self.LIST_QUERIES):
            first = client.get(LIST, {"status": "open"})
        with django_assert_num_queries(self.LIST_QUERIES):
            client.get(LIST + first.context["older_url"])

    def test_does_not_grow_with_the_data(self, client, world, django_assert_num_queries):
        client.force_login(world.u.alice)
        # A first page with no further page is the whole list: no count.
        with django_assert_num_queries(self.LIST_QUERIES - 1):
            client.get(LIST)
        for division in (world.d.hq, world.d.electrical, world.d.plumbing):
            JobFactory.create_batch(60, division=division)
        with django_assert_num_queries(self.LIST_QUERIES):
            response = client.get(LIST)
        assert len(response.context["page"].jobs) == PER_PAGE

    def test_detail_is_pinned(self, client, world, django_assert_num_queries):
        client.force_login(world.u.elle)
        # session, user with the tenant and division for the header, the job with its relations
        # and the case of the rule that shows it, its notes.
        with django_assert_num_queries(3 + SESSION + REQUEST_TRANSACTION):
            assert client.get(world.jobs.electrical.get_absolute_url()).status_code == 200

    def test_status_change_is_pinned(self, client, world, django_assert_num_queries):
        client.force_login(world.u.alice)
        url = f"{world.jobs.hq.get_absolute_url()}status/"
        # session, user, the job with the case of the rule; in a savepoint (SAVEPOINT,
        # RELEASE): the user's expired form tokens deleted, the token recorded in a savepoint
        # of its own (SAVEPOINT, INSERT, RELEASE), the conditional UPDATE, the note's job
        # tenant and the note's INSERT.
        with django_assert_num_queries(2 + 2 + 1 + 3 + 3 + SESSION + REQUEST_TRANSACTION):
            response = client.post(url, status_form(world.u.alice, "done", "open"))
            assert response.status_code == 302
        with unscoped("check"):
            assert Job.objects.get(pk=world.jobs.hq.pk).status == "done"
