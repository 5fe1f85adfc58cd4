"""Rotating SECRET_KEY: SECRET_KEY_FALLBACKS keeps everyone signed in (on both backends)."""

import pytest
from django.test import Client

from tests.settings_probe import settings_print

OLD, NEW = "secret-key-old-" + "o" * 40, "secret-key-new-" + "n" * 40


def signed_in(client):
    """Whether the client's session signs in: its job list, not the sign-in page."""
    response = client.get("/jobs/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


@pytest.fixture
def under_old_key(world, settings):
    """Two clients signed in as Sam while SECRET_KEY was OLD."""
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD, []
    clients = Client(), Client()
    for client in clients:
        client.force_login(world.u.sam)
        assert signed_in(client)
    return clients


def test_a_session_of_the_old_key_signs_in_while_the_old_key_is_a_fallback(under_old_key, settings):
    """The rotation's step: the new SECRET_KEY with the old one in SECRET_KEY_FALLBACKS. A
    session visiting then moves to the new key, and stays signed in once the old key is
    dropped; a session that did not visit is signed out then, as a forged one would be."""
    visited, away = under_old_key
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    assert signed_in(visited)
    settings.SECRET_KEY_FALLBACKS = []
    assert signed_in(visited)
    assert not signed_in(away)


def test_without_the_fallback_the_old_keys_session_is_signed_out(under_old_key, settings):
    """What the fallback guards: the new key alone signs out every session of the old one."""
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, []
    assert not any(signed_in(client) for client in under_old_key)


FALLBACKS = "(s.SECRET_KEY_FALLBACKS, s.RLS_SIGNING_KEY_FALLBACKS)"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        # The principal's key derived from SECRET_KEY rotates with it.
        ({"SECRET_KEY_FALLBACKS": "a,b"}, (["a", "b"], ["proone-rls:a", "proone-rls:b"])),
        # A key of its own has fallbacks of its own.
        ({"SECRET_KEY_FALLBACKS": "a", "RLS_SIGNING_KEY": "r"}, (["a"], [])),
        ({"RLS_SIGNING_KEY": "r", "RLS_SIGNING_KEY_FALLBACKS": "q"}, ([], ["q"])),
        # An empty entry is no key: "proone-rls:" would be a key anyone can compute.
        ({"SECRET_KEY_FALLBACKS": " ,a,,"}, (["a"], ["proone-rls:a"])),
        ({"SECRET_KEY_FALLBACKS": ""}, ([], [])),
    ],
)
def test_fallbacks_are_read_from_the_environment(environment, expected):
    environment = {"SECRET_KEY_FALLBACKS": "", **environment}
    printed = settings_print(FALLBACKS, unset_prefix="RLS_SIGNING_KEY", **environment)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == repr(expected)
