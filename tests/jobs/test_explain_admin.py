"""Explain on the admin's pages: who can see a job, what a user can see; shown only to who may
open the object (another tenant's admin gets the same 404 as for a missing row)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from divisions.scoping import unscoped
from divisions.visibility import explain
from jobs.explain import what_sees, who_sees
from tests.divisions.test_admin_scope import make_manager
from tests.factories import DivisionFactory, UserFactory


def job_url(job):
    return reverse("admin:jobs_job_change", args=[job.pk])


def user_url(user):
    return reverse("admin:divisions_user_change", args=[user.pk])


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


class TestTenantAdmin:
    @pytest.fixture(autouse=True)
    def signed_in(self, client, world):
        client.force_login(world.u.acme_admin)
        self.client = client

    def test_job_page_groups_who_sees_it_by_case(self, world):
        html = page(self.client, job_url(world.jobs.electrical))
        # Electrical lists Head Office and Sparks; nodiv (no division) and Globex see nothing.
        assert "<p>5 users in all.</p>" in html
        assert "<li>tenant admin: 1 user (acme-admin)</li>" in html
        assert "<li>own division: 1 user (elle)</li>" in html
        assert "<li>listed: 3 users (alice, sam, staff)</li>" in html
        assert "nodiv" not in html and "gina" not in html and "inactive" not in html

    def test_job_shared_with_everyone_and_job_of_no_division(self, world):
        html = page(self.client, job_url(world.jobs.plumbing))
        assert "<li>everyone: 5 users (alice, elle, nodiv, sam, staff)</li>" in html
        html = page(self.client, job_url(world.jobs.acme_unassigned))
        assert "<p>1 user in all.</p>" in html
        assert "<li>tenant admin: 1 user (acme-admin)</li>" in html

    def test_a_big_group_lists_some_names_and_counts_all(self, world, monkeypatch):
        monkeypatch.setattr(explain, "NAMES_SHOWN", 2)
        html = page(self.client, job_url(world.jobs.electrical))
        assert "<li>listed: 3 users (alice, sam and 1 more)</li>" in html

    def test_user_page_shows_each_division_its_case_and_jobs(self, world):
        html = page(self.client, user_url(world.u.acme_admin))
        for name in ("Electrical", "Head Office", "Plumbing", "Sparks"):
            assert f"<td>{name}</td><td>tenant admin</td><td>1</td>" in html
        assert "<td>Jobs of no division</td><td>tenant admin</td><td>1</td>" in html
        assert "<p>5 jobs in all.</p>" in html
        html = page(self.client, user_url(world.u.alice))
        assert "<td>Electrical</td><td>listed</td><td>1</td>" in html
        assert "<td>Head Office</td><td>own division</td><td>1</td>" in html
        assert "<td>Plumbing</td><td>everyone</td><td>1</td>" in html
        assert "<td>Sparks</td>" not in html

    def test_another_tenants_job_and_user_are_404(self, world):
        """Attack: an admin of Acme opens Globex's job and user by id. What stops it: the
        admin's tenant queryset (and on PostgreSQL row-level security): the same 404 as for a
        missing row, with nothing of the answer on it."""
        for url in (job_url(world.jobs.field), user_url(world.u.gina), job_url(world.jobs.ops)):
            response = self.client.get(url)
            assert response.status_code == 404, url
            assert b"gina" not in response.content and b"globex-admin" not in response.content


def test_a_division_manager_gets_no_job_page(client, world):
    """Attack: a division manager (may change one DataScope, nothing else) opens a job's admin
    page to learn who sees it. What stops it: the job admin serves tenant admins and platform
    operators only."""
    client.force_login(make_manager(world.u.alice, world.d.electrical))
    for url in (job_url(world.jobs.electrical), user_url(world.u.sam)):
        response = client.get(url)
        assert response.status_code in (403, 404), url
        assert b"elle" not in response.content


def test_answers_take_a_constant_number_of_queries(world):
    """Neither answer asks the database once per division or per user."""

    def queries(answer, *args):
        with unscoped("test check"), CaptureQueriesContext(connection) as captured:
            answer(*args)
        return len(captured)

    def counts():
        return (
            queries(who_sees, world.jobs.electrical),
            queries(what_sees, world.u.alice),
            queries(what_sees, world.u.acme_admin),
        )

    before = counts()
    with unscoped("test setup"):
        for n in range(8):
            division = DivisionFactory(tenant=world.tenants.acme, name=f"More {n}")
            UserFactory(division=division, username=f"more{n}")
            UserFactory(division=division, username=f"boss{n}", is_staff=True)
    assert counts() == before
