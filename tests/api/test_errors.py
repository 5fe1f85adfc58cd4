"""Every API error is JSON: an unexpected exception is a 500, a database that cannot be reached
a 503 with Retry-After, wherever it was raised; pages keep their HTML error page."""

import http.client
import json
import logging
import os
from contextlib import contextmanager

import pytest
from django.db import InterfaceError, InternalError, OperationalError
from django.test import Client

from api import errors, tokens, views
from benchmarks.load import Gunicorn
from proone.views import SignInForm
from tests.postgres_server import free_port

from .conftest import bearer, mint

SERVER_ERROR = {"detail": "A server error occurred."}
UNAVAILABLE = {"detail": errors.UNAVAILABLE}


@pytest.fixture
def client():
    """A test client that answers an exception as the server would (no re-raise)."""
    return Client(raise_request_exception=False)


def raising(exc):
    def raise_it(*args, **kwargs):
        raise exc

    return raise_it


@contextmanager
def logged(name):
    """The records logger `name` handles inside the block (it does not propagate to caplog)."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def assert_json(response, status, body):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == body


class TestInProcess:
    def test_an_exception_in_a_view_is_a_json_500_and_logged(self, world, client, monkeypatch):
        """Logged by django.request with its traceback (settings.LOGGING sends it to stderr)."""
        monkeypatch.setattr(views.JobDetail, "get", raising(RuntimeError("boom")))
        _, token = mint(world.u.sam)
        with logged("django.request") as records:
            response = client.get(f"/api/jobs/{world.jobs.sparks.pk}/", **bearer(token))
        assert_json(response, 500, SERVER_ERROR)
        assert "Retry-After" not in response
        [record] = records
        assert record.getMessage() == f"Internal Server Error: /api/jobs/{world.jobs.sparks.pk}/"
        assert isinstance(record.exc_info[1], RuntimeError)

    def test_a_database_lost_in_a_view_is_a_json_503(self, world, client, monkeypatch):
        monkeypatch.setattr(views.JobList, "get", raising(InterfaceError("connection closed")))
        _, token = mint(world.u.sam)
        response = client.get("/api/jobs/", **bearer(token))
        assert_json(response, 503, UNAVAILABLE)
        assert response["Retry-After"] == str(errors.UNAVAILABLE_RETRY_AFTER)

    def test_a_commit_cut_off_through_pgbouncer_is_a_json_503(self, world, client, monkeypatch):
        """What psycopg raises when PgBouncer's server connection ends during COMMIT (the load
        run with faults, benchmarks/faults.py): the outcome is unknown, so try again."""
        error = InternalError("received 2 results from command 'COMMIT'")
        monkeypatch.setattr(views.JobList, "get", raising(error))
        _, token = mint(world.u.sam)
        response = client.get("/api/jobs/", **bearer(token))
        assert_json(response, 503, UNAVAILABLE)
        assert response["Retry-After"] == str(errors.UNAVAILABLE_RETRY_AFTER)

    def test_a_database_refusing_the_token_check_is_a_json_503(self, db, client, monkeypatch):
        """Raised in api.middleware.TokenMiddleware, before any view."""
        monkeypatch.setattr(tokens, "check", raising(OperationalError("connection refused")))
        response = client.get("/api/jobs/", **bearer("proone_pat_" + "x" * 43))
        assert_json(response, 503, UNAVAILABLE)
        assert response["Retry-After"] == str(errors.UNAVAILABLE_RETRY_AFTER)

    def test_a_database_refusing_the_scope_is_a_json_503(self, db, client, monkeypatch):
        """Raised in divisions.middleware.ScopeMiddleware, for a request with no token."""
        monkeypatch.setattr(
            "divisions.middleware.acting_as", raising(OperationalError("connection refused"))
        )
        assert_json(client.get("/api/no/such/path/"), 503, UNAVAILABLE)
        page = client.get("/jobs/")
        assert page.status_code == 500
        assert "Something went wrong" in page.content.decode()

    def test_a_page_keeps_its_html_500(self, db, client, monkeypatch):
        monkeypatch.setattr(SignInForm, "__init__", raising(RuntimeError("boom")))
        response = client.get("/accounts/login/")
        assert response.status_code == 500
        assert response["Content-Type"].startswith("text/html")
        assert "Something went wrong" in response.content.decode()


def fetch(port, path, token=None):
    """(status, headers, body) of one GET on 127.0.0.1:port."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client.request("GET", path, headers=headers)
        response = client.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        client.close()


def test_a_database_that_is_down_gets_json_503s_from_gunicorn():
    """gunicorn serving a PostgreSQL DATABASE_URL where nothing listens: every API request is
    the JSON 503 with Retry-After (with a token, without one, on a path that does not exist);
    a page is the HTML 500 page."""
    dead = f"postgres://proone_app:x@127.0.0.1:{free_port()}/proone"
    server = Gunicorn(
        dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=dead), workers=1
    )
    port = server.start()
    token = "proone_pat_" + "x" * 43
    try:
        api = [
            fetch(port, "/api/jobs/", token),
            fetch(port, "/api/jobs/"),
            fetch(port, "/api/no/such/path/"),
        ]
        page = fetch(port, "/jobs/")
    finally:
        server.stop()
        log = server.log_tail()
    for status, headers, body in api:
        assert status == 503, (api, log)
        assert headers["Content-Type"] == "application/json"
        assert headers["Retry-After"] == str(errors.UNAVAILABLE_RETRY_AFTER)
        assert json.loads(body) == UNAVAILABLE
    status, headers, body = page
    assert status == 500 and headers["Content-Type"].startswith("text/html")
    assert "Something went wrong" in body
