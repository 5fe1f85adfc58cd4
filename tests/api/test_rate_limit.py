"""The API's rate limit, counted in the database: one window per token, shared by every worker,
and what SQL as the app role can do to another user's window (nothing)."""

import http.client
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from api import tokens
from api.models import AccessToken, RateWindow
from benchmarks.load import Gunicorn
from divisions.scoping import acting_as, unscoped

from .conftest import mint

MINUTE = timedelta(minutes=1)


def window_of(stored):
    """(hits, opened_at) of the token's window, read as system work; None without one."""
    with unscoped("test check"):
        return RateWindow.objects.filter(token=stored).values_list("hits", "opened_at").first()


class TestCounter:
    def test_each_request_is_counted_in_the_tokens_own_window(self, world):
        stored, token = mint(world.u.sam, "first")
        other, other_token = mint(world.u.sam, "second")
        counted = [tokens.check(token, MINUTE) for _ in range(3)]
        assert [bearer.hits for bearer in counted] == [1, 2, 3]
        assert all(0 < bearer.window_left <= 60 for bearer in counted)
        assert tokens.check(other_token, MINUTE).hits == 1
        assert window_of(stored)[0] == 3
        assert window_of(other)[0] == 1

    def test_a_closed_window_opens_again_at_the_next_request(self, world):
        stored, token = mint(world.u.sam)
        short = timedelta(milliseconds=300)
        assert [tokens.check(token, short).hits for _ in range(2)] == [1, 2]
        opened = window_of(stored)[1]
        time.sleep(0.35)
        again = tokens.check(token, short)
        assert again.hits == 1
        assert 0 < again.window_left <= 0.3
        assert window_of(stored)[1] > opened

    def test_the_windows_never_outnumber_the_tokens(self, world):
        stored, token = mint(world.u.sam)
        for _ in range(5):
            tokens.check(token, MINUTE)
        with unscoped("test check"):
            assert RateWindow.objects.count() == 1

    def test_without_a_window_nothing_is_counted(self, world):
        stored, token = mint(world.u.sam)
        checked = tokens.check(token)
        assert (checked.hits, checked.window_left) == (None, None)
        assert window_of(stored) is None

    def test_an_unusable_token_is_not_counted(self, world):
        stored, token = mint(world.u.sam)
        with acting_as(world.u.sam):
            tokens.revoke(stored)
        assert tokens.check(token, MINUTE) is None
        assert window_of(stored) is None

    def test_deleting_a_token_deletes_its_window(self, world):
        """As the tenant admin (the admin's cascade reads the window through its token)."""
        stored, token = mint(world.u.sam)
        tokens.check(token, MINUTE)
        with acting_as(world.u.acme_admin):
            AccessToken.objects.filter(pk=stored.pk).delete()
        with unscoped("test check"):
            assert not RateWindow.objects.exists()


class TestThrottle:
    def test_past_the_rate_the_api_answers_429_json_with_retry_after(self, world, api, token_rate):
        token_rate("2/minute")
        _, token = mint(world.u.sam)
        assert [api("get", "/api/jobs/", token).status_code for _ in range(2)] == [200, 200]
        throttled = api("get", "/api/jobs/", token)
        assert throttled.status_code == 429
        assert throttled["Content-Type"] == "application/json"
        assert throttled.json()["detail"].startswith("Request was throttled")
        assert 1 <= int(throttled["Retry-After"]) <= 60

    def test_an_unlimited_rate_counts_nothing(self, world, api, settings):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
        stored, token = mint(world.u.sam)
        assert api("get", "/api/jobs/", token).status_code == 200
        assert window_of(stored) is None


# --- PostgreSQL: SQL as the app role inside sam's principal ---------------------------------


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


@pytest.fixture
def victim(world):
    """acme-admin's token, with 5 requests counted in its window."""
    stored, token = mint(world.u.acme_admin)
    for _ in range(5):
        tokens.check(token, MINUTE)
    return stored


@pytest.mark.postgres
class TestWindowAttacks:
    """Each test is an injection in one of sam's API requests aimed at another user's window."""

    def test_cannot_read_another_users_window(self, world, victim):
        """Attack: SELECT every window (whose hits tell another user's API use). Stopped: the
        read policy shows a window only as its token is shown, and sam sees his own tokens."""
        own, token = mint(world.u.sam)
        tokens.check(token, MINUTE)
        with acting_as(world.u.sam):
            assert rows("SELECT token_id, hits FROM api_ratewindow") == [(own.pk, 1)]

    def test_cannot_reset_another_users_window(self, world, victim):
        """Attack: DELETE or UPDATE acme-admin's window, giving his token a fresh budget (or
        zeroing sam's own). Stopped: no row matches the delete policy; the update policy
        matches no row at all."""
        mint(world.u.sam)
        with acting_as(world.u.sam):
            assert rows("DELETE FROM api_ratewindow WHERE token_id = %s", [victim.pk]) == 0
            assert rows("UPDATE api_ratewindow SET hits = 0, opened_at = now()") == 0
        assert window_of(victim)[0] == 5

    def test_cannot_fill_another_users_window(self, world):
        """Attack: INSERT a full window for a token of acme-admin, so that his next request
        is refused (or upsert onto his live one). Stopped: the insert policy admits no row
        from the app role; only proone_token_user() counts, given the token itself."""
        stored, _ = mint(world.u.acme_admin)
        upsert = (
            "INSERT INTO api_ratewindow (token_id, opened_at, hits) VALUES (%s, now(), 100000) "
            "ON CONFLICT (token_id) DO UPDATE SET hits = 100000"
        )
        refused = pytest.raises(DatabaseError, match="row-level security")
        with acting_as(world.u.sam), refused, transaction.atomic():
            rows(upsert, [stored.pk])
        assert window_of(stored) is None

    def test_a_digest_read_from_the_table_counts_nothing(self, world, victim):
        """Attack: call the counting function with a token's stored digest. Stopped: it
        hashes what it is given, so a digest is no token and counts in no window."""
        with unscoped("the attacker read a digest somehow"):
            digest = AccessToken.objects.get(pk=victim.pk).digest
        with acting_as(world.u.sam):
            assert rows("SELECT * FROM proone_token_user(%s, '1 minute')", [digest]) == []
        assert window_of(victim)[0] == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_new_tokens_first_requests_at_once_all_count(world):
    """8 connections of the app role check a new token at the same moment, 20 times: no
    deadlock between the last-use update's lock on the token and the foreign key check of
    the window's first insert; every request is counted."""
    database = settings.DATABASES["default"]
    conninfo = {
        "dbname": database["NAME"],
        "user": database["USER"],
        "password": database["PASSWORD"],
        "host": database["HOST"],
        "port": database["PORT"],
    }
    connections = [psycopg.connect(**conninfo, autocommit=True) for _ in range(8)]
    failures = []
    try:
        for n in range(20):
            stored, token = mint(world.u.sam, f"token {n}")
            together = threading.Barrier(len(connections))

            def check(database_connection, token=token, together=together):
                together.wait()
                try:
                    database_connection.execute(
                        "SELECT * FROM proone_token_user(%s, '1 minute')", [token]
                    )
                except psycopg.Error as error:
                    failures.append(error)

            threads = [threading.Thread(target=check, args=(c,)) for c in connections]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert window_of(stored)[0] == len(connections) - len(failures), failures
    finally:
        for database_connection in connections:
            database_connection.close()
    assert failures == []


# --- PostgreSQL: the limit under gunicorn with 4 threaded workers ---------------------------

RATE = 20
SENT = RATE + 80


def get(port, path, token):
    """(status, Retry-After, JSON body) of one GET on 127.0.0.1:port."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = client.getresponse()
        return response.status, response.getheader("Retry-After"), json.loads(response.read())
    finally:
        client.close()


def served(**env):
    """gunicorn with 4 workers of 4 threads serving the test database, as the app role."""
    return Gunicorn(
        dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings", **env), workers=4, threads=4
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_threaded_workers_share_one_limit(world):
    """RATE + 80 requests at once on one token, spread over 4 workers of 4 threads: exactly
    RATE answers are 200, every other one is the 429 with Retry-After, and the token's window
    counted every request."""
    stored, token = mint(world.u.sam)
    server = served(API_TOKEN_RATE=f"{RATE}/minute")
    port = server.start()
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda _: get(port, "/api/jobs/", token), range(SENT)))
    finally:
        server.stop()
        log = server.log_tail()
    statuses = [status for status, _, _ in answers]
    assert statuses.count(200) == RATE, (statuses, log)
    assert statuses.count(429) == SENT - RATE, (statuses, log)
    refused = [(after, body) for status, after, body in answers if status == 429]
    assert all(1 <= int(after) <= 60 for after, _ in refused)
    assert all(body["detail"].startswith("Request was throttled") for _, body in refused)
    assert window_of(stored)[0] == SENT
