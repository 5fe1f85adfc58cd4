"""PostgreSQL, through gunicorn: the load-and-leak run and a concurrent status-change run
while the portal's database backends are terminated mid-request and their statements
cancelled (benchmarks/faults.py). No answer shows a job out of scope, every failed request is
a clean error (the 500 page, the API's JSON 503), no status change is lost or half written,
and the portal answers every request once the faults stop."""

import os

import pytest
from django.db import connection
from django.test import Client

from api import tokens
from benchmarks.faults import Faults, not_from_faults, portal_url
from benchmarks.load import Gunicorn, Visitor, exceptions_in, run_with_faults
from divisions.scoping import acting_as
from jobs.models import Job
from tests import oracle

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def app_url():
    settings = connection.settings_dict
    return (
        f"postgresql://{settings['USER']}:{settings['PASSWORD']}@"
        f"{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )


@pytest.fixture
def portal():
    """gunicorn (2 workers) as the app role, its connections named for the faults."""
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=portal_url(os.environ["DATABASE_URL"]),
        API_TOKEN_RATE="100000/minute",  # the faults, not the rate limit, are under test
    )
    server = Gunicorn(env, workers=2)
    server.start()
    yield server
    server.stop()


def visitor(world, user):
    snapshot = oracle.snapshot()
    client = Client()
    client.force_login(user)
    with acting_as(user):
        _, token = tokens.mint(user, "faults")
    pks = sorted(snapshot.jobs)
    return Visitor(
        user.username,
        client.cookies["sessionid"].value,
        lambda pk: oracle.may_see(snapshot, user, pk),
        [pk for pk in pks if oracle.may_see(snapshot, user, pk)],
        [pk for pk in pks if not oracle.may_see(snapshot, user, pk)],
        token,
    )


def test_faults_mid_request_leak_nothing_lose_no_update_and_the_portal_recovers(world, portal):
    u = world.u
    visitors = [visitor(world, user) for user in (u.alice, u.sam, u.elle, u.gina, u.acme_admin)]
    sam, admin = visitors[1], visitors[4]
    faults = Faults(app_url(), every=0.3, count=30)
    run = run_with_faults(
        portal.port, visitors, [sam, admin, sam], [world.jobs.sparks.pk], faults,
        seconds=12, threads=4, after_seconds=3, api_share=0.3,
    )  # fmt: skip
    line, log = run.line(), portal.log_tail(200_000)
    print(line)
    assert not faults.failures, faults.failures
    # The faults reached requests: terminated and cancelled backends, failed answers.
    assert line["faults"] >= 20 and line["terminate backends"] >= 5, line
    assert line["cancel backends"] >= 1 and line["failed"] + line["changes_failed"] >= 5, line
    assert line["leaks"] == 0, run.problems
    assert line["unclean"] == 0, run.problems
    assert line["after_requests"] >= 10 and line["after_errors"] == 0, run.problems
    assert line["lost"] == 0 and line["changed"] >= 3, (line, run.problems)
    with acting_as(u.acme_admin):
        assert Job.objects.get(pk=world.jobs.sparks.pk).status  # readable, one status
    # Every failure was a fault's: no other exception in the portal's log.
    raised = exceptions_in(log)
    assert raised and not not_from_faults(raised), raised
