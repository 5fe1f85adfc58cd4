"""PostgreSQL, through gunicorn: the principal's key (RLS_SIGNING_KEY), and SECRET_KEY with the
principal key derived from it, rotated under the leak-checked load, as docs/operations.md does
it. The old processes serve while the database takes the new key with the old one retired
(step 1), a process with the new key starts and the old ones stop (step 2, the rolling restart),
then the old key is retired for good (step 3): no request fails and none shows a job out of
scope. A process still signing with the retired key is then refused: clean errors (the error
page, the API's JSON), nothing shown.

The keys are stored as `create_db_roles` stores them, over the owner's connection (the tests
never hold the superuser URL create_db_roles needs); tests/deploy/test_key_rotation_docs.py
runs the documented commands themselves."""

import http.client
import os
import secrets
import threading
import time

import pytest

from benchmarks.load import Gunicorn, check, exceptions_in, fetch, run_load, unclean
from tests.divisions.test_rls_key_rotation import store

from .test_faults import visitor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SECONDS = 10  # of load on each process; they overlap by about half


def portal(key=None, **keys):
    """A gunicorn (2 workers) signing principals with `key` (None: the key derived from its
    SECRET_KEY), with the other `keys` settings in its environment, started."""
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        API_TOKEN_RATE="100000/minute",  # the rotation, not the rate limit, is under test
        **keys,
    )
    env.pop("RLS_SIGNING_KEY", None)
    if key is not None:
        env["RLS_SIGNING_KEY"] = key
    server = Gunicorn(env, workers=2)
    server.start()
    return server


def in_background(port, visitors, seed):
    """The load run on `port` for SECONDS in a thread: (thread, [its Result])."""
    results = []
    thread = threading.Thread(
        target=lambda: results.append(
            run_load(port, visitors, SECONDS, 2, 100_000, seed=seed, api_share=0.3)
        ),
        daemon=True,
    )
    thread.start()
    return thread, results


def test_rotation_under_load_fails_no_request_leaks_nothing_and_closes(world, settings):
    old, new = settings.RLS_SIGNING_KEY, "rls-rotated-" + secrets.token_urlsafe(32)
    u = world.u
    visitors = [visitor(world, user) for user in (u.alice, u.sam, u.elle, u.gina, u.acme_admin)]
    servers = []
    try:
        servers.append(portal(old))
        first, during_first = in_background(servers[0].port, visitors, seed=1)
        time.sleep(2)
        assert store(settings, new, [old]) == 1  # step 1: both keys accepted
        servers.append(portal(new))  # step 2: the restarted process, while the old serves
        second, during_second = in_background(servers[1].port, visitors, seed=2)
        first.join(SECONDS + 60)
        servers[0].stop()  # the old process leaves once its requests are answered
        assert store(settings, new) == 0  # step 3: the old key retired, under load
        second.join(SECONDS + 60)
        old_log = servers[0].log_tail(200_000)
        new_log = servers[1].log_tail(200_000)

        for result in (*during_first, *during_second):
            print(result.line())
        assert len(during_first) == len(during_second) == 1
        (before,), (after,) = during_first, during_second
        assert before.requests >= 20 and after.requests >= 20, (before.line(), after.line())
        assert before.errors == 0 and after.errors == 0, before.problems + after.problems
        assert before.leaks == 0 and after.leaks == 0, before.problems + after.problems
        assert before.checked_ids > 0 and after.checked_ids > 0
        assert not exceptions_in(old_log) and not exceptions_in(new_log), old_log + new_log

        # Closed: a process still signing with the retired key serves nothing.
        servers.append(portal(old))
        sam = visitors[1]
        hidden = sam.some_hidden[0]
        for path, token in (
            ("/jobs/", ""),
            (f"/jobs/{hidden}/", ""),
            ("/api/jobs/", sam.token),
            (f"/api/jobs/{hidden}/", sam.token),
        ):
            status, body, _ = fetch(servers[2].port, path, sam.cookie, token)
            errors, leaks, _, problem = check(sam, path, status, body)
            assert status >= 500 and errors == 1 and leaks == 0, problem
            assert unclean(path, status, body) is None, (path, status, body[:500])
        assert "principal token signature is invalid" in servers[2].log_tail(200_000)
    finally:
        for server in servers:
            server.stop()
        store(settings, old)


def derived(secret_key):
    """The principal key a deployment without RLS_SIGNING_KEY derives from `secret_key`."""
    return f"proone-rls:{secret_key}"


def browse(visitors, cookies, ports, rounds):
    """Each visitor, as a browser does, asks for the job list, a job it may see and one it may
    not, `rounds` times, each request to the next of `ports` (a balancer over processes of two
    releases), keeping the session cookie each answer sets: [problem] of the answers `check`
    finds wrong (an error, a leak, a redirect to sign in)."""
    problems = []
    turn = 0
    for _ in range(rounds):
        for browser in visitors:
            for path in (
                "/jobs/",
                f"/jobs/{browser.some_visible[0]}/",
                f"/jobs/{browser.some_hidden[0]}/",
            ):
                port = ports[turn % len(ports)]
                turn += 1
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                try:
                    connection.request(
                        "GET", path, headers={"Cookie": f"sessionid={cookies[browser.name]}"}
                    )
                    response = connection.getresponse()
                    body = response.read().decode("utf-8", "replace")
                    for header in response.headers.get_all("Set-Cookie") or ():
                        name, _, rest = header.partition("=")
                        if name == "sessionid":
                            cookies[browser.name] = rest.split(";")[0]
                finally:
                    connection.close()
                _, _, _, problem = check(browser, path, response.status, body)
                if problem:
                    problems.append(f"port {port}: {problem}")
    return problems


def test_secret_key_rotation_keeps_everyone_signed_in_across_a_rolling_restart(world, settings):
    """SECRET_KEY rotated as docs/operations.md does it, the principal key derived from it,
    with browsers whose requests a balancer spreads over the processes of two releases at each
    step: (1) the processes restarted with the new key as a fallback only, (2) the database
    takes both derived principal keys and the processes restarted with the new key and the old
    one as the fallback, (3) the old principal key retired. Nobody is signed out and no answer
    fails or leaks. Without step 1 a session the new process has moved to the new key is signed
    out by an old process (the last part shows it: what step 1 is for)."""
    old_secret = os.environ["SECRET_KEY"]
    assert derived(old_secret) == settings.RLS_SIGNING_KEY  # the derived key is under test
    new_secret = "secret-rotated-" + secrets.token_urlsafe(32)
    u = world.u
    visitors = [visitor(world, user) for user in (u.alice, u.sam, u.elle, u.acme_admin)]
    cookies = {v.name: v.cookie for v in visitors}
    servers = {}
    try:
        servers["old"] = portal(SECRET_KEY=old_secret)
        servers["step 1"] = portal(SECRET_KEY=old_secret, SECRET_KEY_FALLBACKS=new_secret)
        problems = browse(visitors, cookies, [servers["old"].port, servers["step 1"].port], 2)
        servers.pop("old").stop()
        assert store(settings, derived(new_secret), [derived(old_secret)]) == 1
        servers["step 2"] = portal(SECRET_KEY=new_secret, SECRET_KEY_FALLBACKS=old_secret)
        problems += browse(visitors, cookies, [servers["step 1"].port, servers["step 2"].port], 3)
        servers.pop("step 1").stop()
        assert store(settings, derived(new_secret)) == 0
        problems += browse(visitors, cookies, [servers["step 2"].port], 2)
        assert problems == []
        logs = [server.log_tail(200_000) for server in servers.values()]
        assert not any(exceptions_in(log) for log in logs), logs

        # Without step 1: an old process next to a new one signs out whoever the new one moved.
        store(settings, derived(new_secret), [derived(old_secret)])
        servers["old"] = portal(SECRET_KEY=old_secret)
        skipped = browse(visitors, cookies, [servers["step 2"].port, servers["old"].port], 1)
        assert any("HTTP 302" in problem for problem in skipped), skipped
    finally:
        for server in servers.values():
            server.stop()
        store(settings, settings.RLS_SIGNING_KEY)
