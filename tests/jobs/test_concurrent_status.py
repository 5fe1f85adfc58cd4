"""PostgreSQL, through gunicorn: two people change one job's status at the same moment (two
clients released together from a barrier). Exactly one change is made, the other is told the
job changed meanwhile, and every note names the status it really replaced."""

import os
import threading

import pytest
from django.test import Client

from benchmarks.load import Gunicorn, Visitor, post_status, run_status_changes, status_form
from divisions.scoping import unscoped
from jobs.models import Job, JobNote

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def portal():
    """gunicorn (2 workers) serving the test database as the app role, on 127.0.0.1."""
    server = Gunicorn(dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings"), workers=2)
    port = server.start()
    try:
        yield port
    finally:
        server.stop()
        log = server.log_tail()
        assert "Traceback" not in log, log


def session(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def at_once(port, job, visitors_and_statuses):
    """Each visitor opens the job's page, then all POST their status change together."""
    forms = [
        (cookie, *status_form(port, job.pk, cookie), status)
        for cookie, status in visitors_and_statuses
    ]
    barrier = threading.Barrier(len(forms))
    answers = {}

    def send(cookie, seen, fields, csrf, status):
        barrier.wait(timeout=30)
        answers[status] = post_status(port, job.pk, cookie, csrf, fields, status)

    threads = [threading.Thread(target=send, args=form) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def status_notes(job):
    with unscoped("check"):
        return list(JobNote.objects.filter(job=job).values_list("body", flat=True))


def test_two_changes_at_once_one_wins_and_the_other_is_told(world, portal):
    """sam (Sparks) and acme-admin change Sparks' job from Open at the same moment, 5 times."""
    job = world.jobs.sparks
    sam, admin = session(world.u.sam), session(world.u.acme_admin)
    seen = "open"
    for sams, admins in [("scheduled", "done"), ("in_progress", "cancelled")] * 2 + [
        ("done", "open")
    ]:
        if seen in (sams, admins):
            sams, admins = ("cancelled", "scheduled") if seen != "cancelled" else ("open", "done")
        answers = at_once(portal, job, [(sam, sams), (admin, admins)])
        assert sorted(answers.values()) == [302, 409], answers
        winner = next(status for status, code in answers.items() if code == 302)
        with unscoped("check"):
            assert Job.objects.get(pk=job.pk).status == winner
        label = dict(Job.Status.choices)
        assert status_notes(job)[-1].startswith(
            f"status: {label[seen].lower()} → {label[winner].lower()}, by "
        )
        seen = winner
    assert len(status_notes(job)) == 5


def test_the_same_status_form_sent_three_times_at_once_changes_once(world, portal):
    job = world.jobs.sparks
    sam = session(world.u.sam)
    seen, fields, csrf = status_form(portal, job.pk, sam)
    barrier = threading.Barrier(3)
    answers = []

    def send():
        barrier.wait(timeout=30)
        answers.append(post_status(portal, job.pk, sam, csrf, fields, "done"))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == [302, 302, 302]
    assert status_notes(job) == ["status: open → done, by sam"]


def test_a_concurrent_status_change_run_loses_no_update(world, portal):
    """The load run's status part, bounded: three people, rounds of changes at once."""
    visitors = [
        Visitor(user.username, session(user), None, [], [])
        for user in (world.u.sam, world.u.acme_admin, world.u.sam)
    ]
    result = run_status_changes(portal, visitors, [world.jobs.sparks.pk], rounds=6, seconds=60)
    line = result.line()
    assert line["errors"] == line["failed"] == 0 and line["lost"] == 0, (line, result.problems)
    assert line["changed"] >= 6 and line["recorded"] == line["changed"], line
