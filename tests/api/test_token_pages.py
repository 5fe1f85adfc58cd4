"""/account/tokens/: a user's own tokens, created (shown once), listed and revoked."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from api import tokens
from api.models import AccessToken
from divisions.scoping import unscoped

from .conftest import mint

TOKEN = re.compile(r"proone_pat_[A-Za-z0-9_-]{43}")


def stored_tokens(user):
    with unscoped("test check"):
        return list(AccessToken.objects.filter(user=user))


@pytest.fixture
def alice(client, world):
    client.force_login(world.u.alice)
    return client


def test_signing_in_is_required(world, client):
    response = client.get("/account/tokens/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_nav_links_to_the_tokens_page(alice):
    assert b'href="/account/tokens/"' in alice.get("/jobs/").content


def test_a_new_token_is_shown_once_and_works(alice, api, world):
    response = alice.post("/account/tokens/", {"name": "invoicing sync"})
    assert response.status_code == 201
    assert response["Cache-Control"].startswith("max-age=0")
    shown = TOKEN.findall(response.content.decode())
    assert len(shown) == 1
    [stored] = stored_tokens(world.u.alice)
    assert (stored.name, stored.digest, stored.expires_at) == (
        "invoicing sync",
        tokens.digest(shown[0]),
        None,
    )
    page = alice.get("/account/tokens/").content.decode()
    assert "invoicing sync" in page and TOKEN.search(page) is None
    assert api("get", "/api/jobs/", shown[0]).status_code == 200


def test_an_expiry_day_stops_the_token_at_its_start(alice, world):
    day = timezone.localdate() + timedelta(days=30)
    alice.post("/account/tokens/", {"name": "ci", "expires_on": day.isoformat()})
    [stored] = stored_tokens(world.u.alice)
    assert timezone.localtime(stored.expires_at).date() == day
    assert timezone.localtime(stored.expires_at).time().hour == 0


@pytest.mark.parametrize(
    "data",
    [
        {"name": ""},
        {"name": "x" * 101},
        {"name": "ci", "expires_on": "yesterday"},
        {"name": "ci", "expires_on": timezone.now().date().isoformat()},
        {"name": "ci", "expires_on": "2001-01-01"},
    ],
)
def test_bad_input_is_a_400_and_no_token(alice, world, data):
    response = alice.post("/account/tokens/", data)
    assert response.status_code == 400
    assert TOKEN.search(response.content.decode()) is None
    assert stored_tokens(world.u.alice) == []


def test_the_list_shows_only_ones_own_tokens(alice, world):
    mint(world.u.alice, "alice's")
    mint(world.u.sam, "sam's")
    page = alice.get("/account/tokens/").content.decode()
    assert "alice&#x27;s" in page and "sam&#x27;s" not in page


def test_revoking_ones_own_token(alice, api, world):
    stored, token = mint(world.u.alice, "old")
    response = alice.post(f"/account/tokens/{stored.pk}/revoke/")
    assert (response.status_code, response["Location"]) == (302, "/account/tokens/")
    [stored] = stored_tokens(world.u.alice)
    assert stored.revoked_at is not None
    assert api("get", "/api/jobs/", token).status_code == 401
    assert "revoked" in alice.get("/account/tokens/").content.decode()


def test_someone_elses_token_cannot_be_revoked(alice, api, world):
    """Attack: POST the revoke URL of another user's token id. Stopped: the page looks the
    token up among the signed-in user's own, so it is a 404 and the token keeps working."""
    stored, token = mint(world.u.sam, "sam's")
    assert alice.post(f"/account/tokens/{stored.pk}/revoke/").status_code == 404
    assert alice.post("/account/tokens/987654/revoke/").status_code == 404
    assert [t.revoked_at for t in stored_tokens(world.u.sam)] == [None]
    assert api("get", "/api/jobs/", token).status_code == 200


def test_creating_and_revoking_need_the_csrf_token(world):
    """Attack: another site's form posts to /account/tokens/ from a signed-in browser.
    Stopped by Django's CSRF check: 403, no token minted, none revoked."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.u.alice)
    stored, _ = mint(world.u.alice, "kept")
    assert browser.post("/account/tokens/", {"name": "forged"}).status_code == 403
    assert browser.post(f"/account/tokens/{stored.pk}/revoke/").status_code == 403
    assert [(t.name, t.revoked_at) for t in stored_tokens(world.u.alice)] == [("kept", None)]


def test_a_cap_on_live_tokens(alice, world, monkeypatch):
    monkeypatch.setattr("api.pages.MAX_LIVE_TOKENS", 2)
    assert alice.post("/account/tokens/", {"name": "one"}).status_code == 201
    assert alice.post("/account/tokens/", {"name": "two"}).status_code == 201
    response = alice.post("/account/tokens/", {"name": "three"})
    assert response.status_code == 400
    assert b"revoke one first" in response.content
    assert len(stored_tokens(world.u.alice)) == 2
