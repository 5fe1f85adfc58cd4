"""A real hot standby (pg_basebackup -R of the throwaway server) serving the portal's reads."""

import copy
import logging
import os
import time

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from divisions import replicas, rls
from divisions.replica_reads import REPLICA, replica_allowed
from divisions.scoping import acting_as, unscoped
from jobs.models import Job
from tests import oracle
from tests.factories import JobFactory
from tests.forms import note_form, status_form
from tests.postgres_server import Standby

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", REPLICA]),
]


@pytest.fixture(scope="module")
def standby():
    """A standby of the test database's server, as the `replica` alias, for this module only."""
    url = os.environ.get("PROONE_TEST_REPLICATION_URL")
    if not url:
        # A server given by PROONE_TEST_POSTGRES_URL has no data directory here to copy.
        pytest.skip(
            "needs the throwaway server of tests/postgres_server.py (make test), which sets "
            "PROONE_TEST_REPLICATION_URL"
        )
    server = Standby(url)
    try:
        server.start()
        conf = copy.deepcopy(connections.settings["default"])
        conf.update(HOST="127.0.0.1", PORT=str(server.port), CONN_MAX_AGE=0)
        conf["TEST"] = {**conf["TEST"], "MIRROR": "default"}
        django_settings.DATABASES[REPLICA] = conf
        connections.settings[REPLICA] = conf
        yield server
    finally:
        if REPLICA in connections.settings:
            connections[REPLICA].close()
            del connections[REPLICA]
            connections.settings.pop(REPLICA, None)
            django_settings.DATABASES.pop(REPLICA, None)
        server.stop()


@pytest.fixture
def replica(standby, settings):
    """The router on, a generous lag limit, the health checked afresh."""
    settings.DATABASE_ROUTERS = ["divisions.replicas.ReplicaRouter"]
    settings.DATABASE_REPLICA_MAX_LAG = 60
    replicas.forget_health()
    if not standby.running:
        standby.resume()
    standby.sql("SELECT pg_wal_replay_resume()")
    yield standby
    if not standby.running:
        standby.resume()
    standby.sql("SELECT pg_wal_replay_resume()")
    connections[REPLICA].close()
    replicas.forget_health()


def caught_up(standby):
    """Wait until the standby has replayed everything the primary committed so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()")
        (lsn,) = cursor.fetchone()
    deadline = time.monotonic() + 30
    while standby.sql(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn") != "t":
        assert time.monotonic() < deadline, "the standby did not catch up in 30s"
        time.sleep(0.05)


def listed(client):
    """The jobs of the first list page and the aliases they were read from."""
    response = client.get("/jobs/")
    assert response.status_code == 200, response
    jobs = list(response.context["page"].jobs)
    return {job.pk for job in jobs}, {job._state.db for job in jobs}


def test_reads_through_the_replica_are_the_oracles_rows(world, client, replica, monkeypatch):
    """Every principal's list page, served by the standby, shows exactly the oracle's rows,
    and the job rows were read there, not on the primary."""
    entered = []
    set_principal = rls.set_principal

    def recording(scope, using="default"):
        entered.append(using)
        return set_principal(scope, using=using)

    monkeypatch.setattr(rls, "set_principal", recording)
    caught_up(replica)
    world_now = oracle.snapshot()
    checked = 0
    for user in vars(world.u).values():
        if not oracle.is_principal(user):
            continue
        client.force_login(user)
        entered.clear()
        with (
            CaptureQueriesContext(connections["default"]) as primary,
            CaptureQueriesContext(connections[REPLICA]) as standby,
        ):
            ids, aliases = listed(client)
        assert ids == oracle.visible_jobs(world_now, user), user.username
        if ids:
            assert aliases == {REPLICA}, user.username
        assert any("jobs_job" in q["sql"] for q in standby.captured_queries)
        assert not any("jobs_job" in q["sql"] for q in primary.captured_queries)
        # The principal entered once on the replica's transaction, not per statement.
        assert entered.count(REPLICA) == 1, user.username
        checked += 1
    assert checked >= 5


def test_the_standby_without_a_principal_shows_nothing(world, replica):
    """Attack: connect to the standby as the app role and read the tables with no principal,
    with a principal set by hand, and with a forged token. The standby runs the primary's
    policies and proone_enter(): no principal reads no row, a hand-set one and a forged token
    are refused."""
    caught_up(replica)
    with unscoped("count on the primary"):
        assert Job.objects.count() > 0
    app = connections.settings["default"]
    with psycopg.connect(
        host="127.0.0.1",
        port=replica.port,
        dbname=app["NAME"],
        user=app["USER"],
        password=app["PASSWORD"],
        autocommit=True,
    ) as conn:
        for table in rls.RULE_TABLES:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
        conn.execute("SELECT set_config('proone.principal', %s, false)", [f"u:{world.u.alice.pk}"])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM jobs_job")
        conn.execute("SELECT set_config('proone.principal', '', false)")
        forged = f"u:{world.u.alice.pk}:{int(time.time())}:{'0' * 64}"
        with pytest.raises(psycopg.Error):
            conn.execute("SELECT proone_enter(%s)", [forged])


def test_read_your_writes_after_a_request_that_wrote(world, client, replica):
    """A browser that just wrote (here: signing in, a POST) reads from the primary for a few
    seconds, so it sees a row the standby has not replayed yet; another browser of the same
    user, which wrote nothing, is served by the (stale) standby."""
    caught_up(replica)
    replica.sql("SELECT pg_wal_replay_pause()")
    with unscoped("a job the standby has not replayed"):
        new = JobFactory(division=world.d.hq, title="Written just now")

    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-for-tests-1"})
    assert response.status_code == 302
    assert replicas.COOKIE in response.cookies
    ids, aliases = listed(client)
    assert new.pk in ids
    assert aliases == {"default"}

    from django.test import Client

    other = Client()
    other.force_login(world.u.alice)
    ids, aliases = listed(other)
    assert new.pk not in ids
    assert aliases == {REPLICA}

    replica.sql("SELECT pg_wal_replay_resume()")
    caught_up(replica)
    ids, aliases = listed(other)
    assert new.pk in ids
    assert aliases == {REPLICA}


def detail(client, job):
    """The job as the detail page read it, the alias it came from, and its notes' bodies."""
    response = client.get(job.get_absolute_url())
    assert response.status_code == 200, response
    shown = response.context["job"]
    return shown.status, shown._state.db, [note.body for note in response.context["notes"]]


@pytest.mark.parametrize("write", ["status", "note"])
def test_read_your_writes_after_a_status_change_or_a_note(world, client, replica, write):
    """Alice changes the status of her division's job, or adds a note to it, while the standby
    has not replayed anything since: her next pages (the detail and the list) read from the
    primary and show her write; another browser of hers still reads the stale standby."""
    from django.test import Client

    job = world.jobs.hq
    before = job.status
    client.force_login(world.u.alice)
    other = Client()
    other.force_login(world.u.alice)
    caught_up(replica)
    assert detail(client, job)[1] == REPLICA
    replica.sql("SELECT pg_wal_replay_pause()")

    if write == "status":
        after = "done" if before != "done" else "cancelled"
        response = client.post(f"/jobs/{job.pk}/status/", status_form(world.u.alice, after, before))
        expected_note = f"status: {Job.Status(before).label.lower()} → "
    else:
        after = before
        response = client.post(
            f"/jobs/{job.pk}/notes/", note_form(world.u.alice, "Parts arrive Tuesday")
        )
        expected_note = "Parts arrive Tuesday"
    assert response.status_code == 302, response
    assert replicas.COOKIE in response.cookies

    status, alias, notes = detail(client, job)
    assert (status, alias) == (after, "default")
    assert any(body.startswith(expected_note) for body in notes), notes
    response = client.get(f"/jobs/?status={after}")
    assert job.pk in {row.pk for row in response.context["page"].jobs}
    assert {row._state.db for row in response.context["page"].jobs} == {"default"}

    # The same user in a browser that wrote nothing: the standby, which has not replayed it.
    status, alias, notes = detail(other, job)
    assert (status, alias) == (before, REPLICA)
    assert not any(body.startswith(expected_note) for body in notes)
    replica.sql("SELECT pg_wal_replay_resume()")
    caught_up(replica)
    status, alias, notes = detail(other, job)
    assert (status, alias) == (after, REPLICA)
    assert any(body.startswith(expected_note) for body in notes)


def test_a_lagging_standby_is_not_read(world, client, replica, settings, caplog):
    """Beyond DATABASE_REPLICA_MAX_LAG the reads go to the primary, a log line and the system
    check say so."""
    caught_up(replica)
    settings.DATABASE_REPLICA_MAX_LAG = 0.5
    replica.sql("SELECT pg_wal_replay_pause()")
    with unscoped("a job the standby has not replayed"):
        new = JobFactory(division=world.d.hq, title="Lagging behind")
    time.sleep(1.2)
    client.force_login(world.u.alice)
    with caplog.at_level(logging.WARNING, logger="proone.replicas"):
        ids, aliases = listed(client)
    assert new.pk in ids
    assert aliases == {"default"}
    assert "behind the primary" in caplog.text
    [warning] = replicas.replica_check(None, databases=[REPLICA])
    assert warning.id == "divisions.W010"


def test_a_stopped_standby_falls_back_to_the_primary(world, client, replica, caplog):
    """The standby goes down: pages keep working from the primary, with the oracle's rows; the
    log line and the system check say so."""
    caught_up(replica)
    client.force_login(world.u.alice)
    assert listed(client)[1] == {REPLICA}
    replica.halt()
    want = oracle.visible_jobs(oracle.snapshot(), world.u.alice)
    with caplog.at_level(logging.WARNING, logger="proone.replicas"):
        # The last check (under CHECK_INTERVAL ago) said it was up: the failed connection
        # itself sends the request to the primary.
        assert listed(client) == (want, {"default"})
        replicas.forget_health()
        assert listed(client) == (want, {"default"})
    assert "unreachable" in caplog.text
    [warning] = replicas.replica_check(None, databases=[REPLICA])
    assert warning.id == "divisions.W010"


def test_a_scope_that_wrote_reads_its_write_from_the_primary(world, replica):
    """Within one request: a read from the standby, a write, then the same row read again
    comes from the primary with the write in it (the standby may not have replayed it)."""
    caught_up(replica)
    replica.sql("SELECT pg_wal_replay_pause()")
    with replica_allowed(), acting_as(world.u.alice):
        job = Job.objects.get(pk=world.jobs.hq.pk)
        assert job._state.db == REPLICA
        Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE)
        again = Job.objects.get(pk=job.pk)
        assert (again._state.db, again.status) == ("default", Job.Status.DONE)


def test_the_admin_and_posts_read_from_the_primary(world, client, replica):
    """The admin's pages and a POST never read from the standby, even with no recent write."""
    caught_up(replica)
    client.force_login(world.u.acme_admin)
    for method, path in (("get", "/admin/jobs/job/"), ("post", "/jobs/")):
        with CaptureQueriesContext(connections[REPLICA]) as standby:
            response = getattr(client, method)(path)
        assert response.status_code < 500, path
        assert standby.captured_queries == [], path
        client.cookies.pop(replicas.COOKIE, None)
    with CaptureQueriesContext(connections[REPLICA]) as standby:
        assert client.get("/jobs/").status_code == 200
    assert any("jobs_job" in q["sql"] for q in standby.captured_queries)
