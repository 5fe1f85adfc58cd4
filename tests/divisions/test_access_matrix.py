"""The access matrix in the admin: its cells and counts, who sees which part, its CSV, its cost,
and a recorded access review with the index's warning."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from divisions.models import AccessReview, Division, User
from divisions.scoping import OutOfScope, acting_as, unscoped
from divisions.visibility.cases import EVERYONE, LISTED, OWN_DIVISION
from divisions.visibility.matrix import access_matrix
from tests.divisions.test_admin_scope import make_manager
from tests.factories import DivisionFactory, JobFactory, TenantAdminFactory, UserFactory, allow

MATRIX = reverse("admin:divisions_access_matrix")
CSV = reverse("admin:divisions_access_matrix_csv")
REVIEW = reverse("admin:divisions_access_review")
INDEX = reverse("admin:index")


def by_name(matrix):
    """{(row name, column name): case} of the pairs that see."""
    return {
        (row.name, column.name): matrix.case(row, column)
        for row in matrix.rows
        for column in matrix.columns
        if matrix.case(row, column)
    }


def test_each_cell_names_the_case_of_the_rule(world):
    with unscoped("test check"):
        matrix = access_matrix(world.tenants.acme.pk)
    assert [row.name for row in matrix.rows] == [
        "Electrical",
        "Head Office",
        "Plumbing",
        "Sparks",
        "(no division)",
    ]
    assert by_name(matrix) == {
        ("(no division)", "Plumbing"): EVERYONE,  # the users of no division: shared scopes
        ("Electrical", "Electrical"): OWN_DIVISION,
        ("Electrical", "Plumbing"): EVERYONE,
        ("Head Office", "Electrical"): LISTED,
        ("Head Office", "Head Office"): OWN_DIVISION,
        ("Head Office", "Plumbing"): EVERYONE,
        ("Plumbing", "Plumbing"): OWN_DIVISION,
        ("Sparks", "Electrical"): LISTED,
        ("Sparks", "Plumbing"): EVERYONE,
        ("Sparks", "Sparks"): OWN_DIVISION,
    }
    # Active members only: Head Office's inactive user is not counted.
    assert {row.name: row.counts["users"] for row in matrix.rows} == {
        "Electrical": 1,
        "Head Office": 1,
        "Plumbing": 0,
        "Sparks": 2,
        "(no division)": 2,  # nodiv and the tenant admin
    }


def grow(tenant, divisions):
    """`divisions` more divisions in `tenant`, each with a member, a job and a listed scope."""
    with unscoped("test setup"):
        made = [DivisionFactory(tenant=tenant, name=f"Extra {n}") for n in range(divisions)]
        for n, division in enumerate(made):
            UserFactory(division=division, username=f"extra-{tenant.slug}-{n}")
            JobFactory(division=division, title=f"Extra job {n}")
            allow(division, made[n - 1], everyone=n % 3 == 0)


def queries_of(function):
    with CaptureQueriesContext(connection) as captured:
        function()
    return len(captured)


def test_the_matrix_is_four_statements_whatever_the_number_of_divisions(
    world, django_assert_num_queries
):
    acme = world.tenants.acme.pk
    with unscoped("test check"), django_assert_num_queries(4):
        access_matrix(acme)
    grow(world.tenants.acme, 12)
    with unscoped("test check"), django_assert_num_queries(4):
        matrix = access_matrix(acme)
    assert len(matrix.rows) == 17  # 16 divisions and the users of none


def test_the_matrix_page_costs_the_same_at_two_sizes(client, world):
    client.force_login(world.u.acme_admin)
    small = queries_of(lambda: client.get(MATRIX))
    grow(world.tenants.acme, 12)
    response = client.get(MATRIX)
    assert response.status_code == 200
    assert len(response.context["matrix"].rows) == 17
    assert queries_of(lambda: client.get(MATRIX)) == small


class TestWhoSeesTheMatrix:
    def test_a_tenant_admin_sees_their_tenant_with_job_counts(self, client, world):
        client.force_login(world.u.acme_admin)
        response = client.get(MATRIX)
        assert response.status_code == 200
        matrix = response.context["matrix"]
        assert [c.name for c in matrix.columns] == [
            "Electrical",
            "Head Office",
            "Plumbing",
            "Sparks",
        ]
        assert {c.name: c.counts["jobs"] for c in matrix.columns} == dict.fromkeys(
            ["Electrical", "Head Office", "Plumbing", "Sparks"], 1
        )
        assert b"Ops" not in response.content and b"Field" not in response.content
        assert response.context["may_review"]

    def test_a_division_manager_sees_the_columns_of_the_scopes_they_manage(self, client, world):
        """Elle manages Plumbing's scope: she sees who sees Plumbing's jobs (every row), not
        who sees the other divisions' jobs, and she may not record a review."""
        make_manager(world.u.elle, world.d.plumbing)
        client.force_login(world.u.elle)
        response = client.get(MATRIX)
        assert response.status_code == 200
        matrix = response.context["matrix"]
        assert [c.name for c in matrix.columns] == ["Plumbing"]
        assert len(matrix.rows) == 5
        assert not response.context["may_review"]
        assert b"Mark this access as reviewed" not in response.content
        rows = list(csv.reader(io.StringIO(client.get(CSV).content.decode())))
        assert rows[0] == ["members of \\ jobs of", "users", "Plumbing"]

    @pytest.mark.parametrize("who", ["alice", "staff_only", "nodiv"])
    def test_a_member_is_sent_to_the_admin_login_as_from_any_admin_page(self, client, world, who):
        client.force_login(getattr(world.u, who))
        for url in (MATRIX, CSV):
            response = client.get(url)
            assert response.status_code == 302
            assert response.url.startswith(reverse("admin:login"))
        assert client.post(REVIEW).status_code == 302
        assert not AccessReview.objects.visible_to(world.u.acme_admin).exists()

    def test_a_platform_operator_has_no_tenant_matrix(self, client, world):
        client.force_login(world.u.operator)
        assert client.get(MATRIX).status_code == 404
        assert client.get(CSV).status_code == 404
        assert client.post(REVIEW).status_code == 404


def test_the_csv_is_the_matrix_with_its_counts(client, world):
    client.force_login(world.u.acme_admin)
    response = client.get(CSV)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["members of \\ jobs of", "users", "Electrical", "Head Office", "Plumbing", "Sparks"],
        ["jobs", "", "1", "1", "1", "1"],
        ["Electrical", "1", "own division", "", "everyone", ""],
        ["Head Office", "1", "listed", "own division", "everyone", ""],
        ["Plumbing", "0", "", "", "own division", ""],
        ["Sparks", "2", "listed", "", "everyone", "own division"],
        ["(no division)", "2", "", "", "everyone", ""],
    ]


def test_a_division_named_as_a_formula_is_text_in_the_csv(client, world):
    """A tenant admin names a division '=HYPERLINK(...)': the CSV cell starts with a quote,
    so the auditor's spreadsheet shows it instead of running it."""
    with acting_as(world.u.acme_admin):
        Division.objects.filter(pk=world.d.sparks.pk).update(name='=HYPERLINK("x")')
    client.force_login(world.u.acme_admin)
    rows = list(csv.reader(io.StringIO(client.get(CSV).content.decode())))
    assert '\'=HYPERLINK("x")' in rows[0]
    assert rows[2][0] == '\'=HYPERLINK("x")'  # the first row: "=" sorts first


class TestRecordedReview:
    @pytest.fixture(autouse=True)
    def signed_in(self, client, world):
        client.force_login(world.u.acme_admin)
        self.client = client

    def review(self):
        fingerprint = self.client.get(MATRIX).context["fingerprint"]
        return self.client.post(REVIEW, {"fingerprint": fingerprint})

    def reviews(self, world):
        with unscoped("test check"):
            return list(AccessReview.objects.filter(tenant=world.tenants.acme))

    def test_a_review_keeps_the_matrix_with_who_and_when(self, world):
        response = self.review()
        assert response.status_code == 302
        [review] = self.reviews(world)
        assert review.reviewed_by_id == world.u.acme_admin.pk
        assert review.reviewed_by_name == "acme-admin"
        assert review.matrix["cells"][1] == ["listed", "own division", "everyone", None]
        assert review.matrix["columns"][0] == {"division": "Electrical", "jobs": 1}
        assert review.matrix["rows"][3] == {"division": "Sparks", "users": 2}

    def test_a_reviewer_deleted_later_leaves_the_review_and_its_name(self, world):
        """A tenant admin deletes a colleague who once recorded a review: the deletion goes
        through, as the admin's principal (on PostgreSQL under the reviews' policies, which let
        nobody but system work update a review), and the review still names its reviewer."""
        with unscoped("test setup: a second admin of Acme reviews"):
            colleague = TenantAdminFactory(tenant=world.tenants.acme, username="acme-admin-2")
        self.client.force_login(colleague)
        assert self.review().status_code == 302
        with acting_as(world.u.acme_admin), transaction.atomic():
            User.objects.get(pk=colleague.pk).delete()
        [review] = self.reviews(world)
        assert review.reviewed_by_name == "acme-admin-2"
        with unscoped("test check"):
            assert not User.objects.filter(pk=colleague.pk).exists()

    def test_a_review_of_a_matrix_that_changed_meanwhile_is_refused(self, world):
        """The page showed one matrix; a scope changed before the button was pressed: the
        admin would attest to access they never saw, so nothing is recorded."""
        fingerprint = self.client.get(MATRIX).context["fingerprint"]
        allow(world.d.sparks, world.d.hq)
        response = self.client.post(REVIEW, {"fingerprint": fingerprint}, follow=True)
        assert b"Access changed since this page was opened" in response.content
        assert self.reviews(world) == []

    def test_a_review_is_a_post_with_its_csrf_token(self, world, client):
        assert self.client.get(REVIEW).status_code == 405
        client.handler.enforce_csrf_checks = True
        fingerprint = client.get(MATRIX).context["fingerprint"]
        assert client.post(REVIEW, {"fingerprint": fingerprint}).status_code == 403
        assert self.reviews(world) == []

    def test_a_division_manager_may_not_record_one(self, world, client):
        make_manager(world.u.elle, world.d.plumbing)
        client.force_login(world.u.elle)
        assert client.post(REVIEW, {"fingerprint": "x"}).status_code == 404
        assert self.reviews(world) == []

    def test_the_index_warns_when_access_was_never_reviewed(self):
        response = self.client.get(INDEX)
        assert b"Access has never been reviewed." in response.content
        assert MATRIX.encode() in response.content

    def test_the_index_shows_a_fresh_review_and_warns_past_the_maximum_age(self, world, settings):
        settings.ACCESS_REVIEW_MAX_AGE_DAYS = 30
        self.review()
        content = self.client.get(INDEX).content
        assert b"Access last reviewed 0 days ago by acme-admin." in content
        with unscoped("test setup"):
            AccessReview.objects.update(
                reviewed_at=AccessReview.objects.get().reviewed_at - timedelta(days=31)
            )
        content = self.client.get(INDEX).content
        assert b"Access last reviewed 31 days ago by acme-admin: older than 30 days" in content

    def test_another_tenants_review_is_not_this_ones(self, world, client):
        self.review()
        client.force_login(world.u.globex_admin)
        assert b"Access has never been reviewed." in client.get(INDEX).content


def test_the_page_draws_each_cell_and_escapes_division_names(client, world):
    """The page's cells say the rule's case (Sparks' members see Electrical's jobs because
    Electrical's scope lists Sparks), and a tenant admin who names a division with markup
    gets it shown as text, not run, in the row and the column."""
    with acting_as(world.u.acme_admin):
        Division.objects.filter(pk=world.d.plumbing.pk).update(name="<b>Pipes</b>")
    client.force_login(world.u.acme_admin)
    page = client.get(MATRIX).content.decode()
    assert "<b>Pipes</b>" not in page
    assert "<th>&lt;b&gt;Pipes&lt;/b&gt;</th>" in page  # its row (and its column)
    sparks = page[page.index("<tr><th>Sparks</th>") :].split("</tr>")[0]
    assert '<td class="sees">listed</td>' in sparks
    assert '<td class="sees">own division</td>' in sparks
    assert '<td class="no-sight"></td>' in sparks


def test_the_orm_records_reviews_as_the_database_does(world):
    """The ORM is SQLite's only guard, and states the reviews' policies: alice (a member)
    reads no review and cannot plant one in her admin's name; the admin cannot record one in
    alice's name, rewrite or delete one; the admin records one in their own name."""
    acme, admin, alice = world.tenants.acme, world.u.acme_admin, world.u.alice
    with acting_as(admin):
        AccessReview.objects.create(
            tenant=acme, reviewed_by=admin, reviewed_by_name=admin.username, matrix={}
        )
        with pytest.raises(OutOfScope):
            AccessReview.objects.create(
                tenant=acme, reviewed_by=alice, reviewed_by_name=alice.username, matrix={}
            )
        assert AccessReview.objects.update(reviewed_by_name="someone else") == 0
        assert AccessReview.objects.all().delete()[0] == 0
        assert AccessReview.objects.count() == 1
    with acting_as(alice):
        assert not AccessReview.objects.exists()
        with pytest.raises(OutOfScope):
            AccessReview.objects.create(
                tenant=acme, reviewed_by=admin, reviewed_by_name=admin.username, matrix={}
            )
    with unscoped("test check"):
        [review] = AccessReview.objects.all()
        assert review.reviewed_by_name == admin.username
