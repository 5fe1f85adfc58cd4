"""The portal through a real browser; in the PostgreSQL pass the database enforces the rule too."""

import pytest

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_member_sees_only_jobs_in_scope(world, page):
    log_in(page, "sam")
    page.goto("/jobs/")
    body = page.content()
    assert "Sparks job" in body and "Plumbing job" in body
    assert "Head Office job" not in body and "Field job" not in body


def test_next_user_on_the_same_server_sees_their_own_jobs(world, page):
    log_in(page, "gina")
    page.goto("/jobs/")
    body = page.content()
    assert "Field job" in body
    assert "Sparks job" not in body and "Ops job" not in body
