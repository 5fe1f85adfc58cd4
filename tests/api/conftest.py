"""API fixtures: tokens minted as their user would mint them (inside acting_as)."""

import pytest

from api import tokens
from divisions.scoping import acting_as


def mint(user, name="test", expires_at=None):
    """(stored token, the token) for `user`, minted in `user`'s own scope."""
    with acting_as(user):
        return tokens.mint(user, name, expires_at)


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def api(client):
    """GET or POST JSON to the API with a token: api("get", path, token, data=None)."""

    def call(method, path, token=None, data=None, **extra):
        headers = bearer(token) if token else {}
        if method == "post":
            return client.post(path, data, content_type="application/json", **headers, **extra)
        return getattr(client, method)(path, data, **headers, **extra)

    return call


@pytest.fixture
def token_rate(settings):
    """Set API_TOKEN_RATE for the test: token_rate("3/minute")."""

    def set_rate(rate):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"token": rate},
        }

    return set_rate
