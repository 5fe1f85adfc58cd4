"""Each request runs acting as its user; the same 404 for missing and out of scope."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from divisions.middleware import ScopeMiddleware
from divisions.scoping import current_scope


def test_request_runs_acting_as_its_user(world):
    seen = []

    def view(request):
        seen.append(current_scope().principal)
        return HttpResponse()

    request = RequestFactory().get("/")
    request.user = world.u.alice
    ScopeMiddleware(view)(request)
    assert seen == [world.u.alice]
    assert current_scope() is None


@pytest.mark.parametrize("job", ["sparks", "field"])
def test_detail_out_of_scope_is_the_missing_404(client, world, job):
    client.force_login(world.u.alice)
    hidden = client.get(f"/jobs/{getattr(world.jobs, job).pk}/")
    missing = client.get("/jobs/999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content


def test_list_shows_only_visible_jobs(client, world):
    client.force_login(world.u.sam)
    body = client.get("/jobs/").content.decode()
    assert "Sparks job" in body and "Electrical job" in body
    assert "Head Office job" not in body and "Field job" not in body
