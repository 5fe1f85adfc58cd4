"""schemathesis against /api/schema/: random requests, authenticated with a real token, get
no server error and only responses the schema documents, on both backends.

In-process through the WSGI application (no server, no port), with the database connection
kept open across requests as Django's test client keeps it.
"""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import mint

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_app():
    """The project's WSGI application; requests share the test's database transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(world, wsgi_app):
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)


@pytest.fixture
def token(world):
    """A token of alice, who sees Head Office, Electrical and Plumbing jobs."""
    return mint(world.u.alice)[1]


# Every operation of the schema (a test below checks the list is complete).
OPERATIONS = [
    ("GET", "/api/jobs/"),
    ("GET", "/api/jobs/{id}/"),
    ("GET", "/api/jobs/{id}/notes/"),
    ("POST", "/api/jobs/{id}/notes/"),
    ("POST", "/api/jobs/{id}/status/"),
]


def test_every_operation_is_fuzzed(api_schema):
    found = [result.ok() for result in api_schema.get_all_operations()]
    assert sorted((op.method.upper(), op.path) for op in found) == sorted(OPERATIONS)


@pytest.mark.parametrize("method, path", OPERATIONS)
def test_the_api_keeps_to_its_schema(api_schema, token, method, path):
    """Valid and invalid requests alike (schemathesis' positive and negative modes)."""
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def call(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    call()
