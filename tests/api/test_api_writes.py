"""The API's writes: a status change from the status last seen (409 when stale), and the
Idempotency-Key header (the same key and request: the first answer again, one write)."""

import json

import pytest
from django.utils import timezone

from divisions.scoping import acting_as, unscoped
from jobs.models import Job, JobNote
from submits.models import LIFETIME, Submit
from submits.once import digest

from .conftest import mint


def notes_of(job):
    with unscoped("check"):
        return list(JobNote.objects.filter(job=job).values_list("author_name", "body"))


def status_of(job):
    with unscoped("check"):
        return Job.objects.get(pk=job.pk).status


@pytest.fixture
def post(world, client):
    """POST JSON as `user` with their token: post(user, path, data, key=None)."""
    tokens = {}

    def call(user, path, data, key=None, raw=None):
        if user not in tokens:
            tokens[user] = mint(user)[1]
        headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[user]}"}
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        body = raw if raw is not None else json.dumps(data)
        return client.post(path, body, content_type="application/json", **headers)

    return call


def status_path(job):
    return f"/api/jobs/{job.pk}/status/"


def notes_path(job):
    return f"/api/jobs/{job.pk}/notes/"


class TestStatus:
    def test_own_division_changes_the_status_from_the_one_it_saw(self, world, post):
        response = post(
            world.u.sam, status_path(world.jobs.sparks), {"status": "done", "from": "open"}
        )
        assert response.status_code == 200
        body = response.json()
        assert body["job"]["status"] == "done"
        assert body["note"]["body"] == "status: open → done, by sam"
        assert body["note"]["author"] == "sam"
        assert status_of(world.jobs.sparks) == "done"

    def test_a_stale_change_is_a_409_naming_what_changed_and_who(self, world, post):
        job = world.jobs.sparks
        post(world.u.acme_admin, status_path(job), {"status": "done", "from": "open"})
        response = post(world.u.sam, status_path(job), {"status": "scheduled", "from": "open"})
        assert response.status_code == 409
        body = response.json()
        assert body["status"] == "done"
        assert body["changed_by"] == "acme-admin"
        assert body["detail"].startswith("This job was changed to Done by acme-admin at ")
        assert "changed_at" in body
        assert status_of(job) == "done"
        assert notes_of(job) == [("acme-admin", "status: open → done, by acme-admin")]

    def test_the_same_status_as_from_changes_nothing(self, world, post):
        response = post(
            world.u.sam, status_path(world.jobs.sparks), {"status": "open", "from": "open"}
        )
        assert response.status_code == 200
        assert response.json()["note"] is None
        assert notes_of(world.jobs.sparks) == []

    @pytest.mark.parametrize(
        ("who", "job"), [("sam", "electrical"), ("alice", "plumbing"), ("sam", "ops")]
    )
    def test_who_may_not_change_it_gets_the_404_of_a_hidden_job(self, world, post, who, job):
        """Seeing a job (electrical lists sparks, plumbing is everyone's) is not changing it:
        the same 404 body as for a job of another tenant or a missing one."""
        user, job = getattr(world.u, who), getattr(world.jobs, job)
        forged = post(user, status_path(job), {"status": "cancelled", "from": "open"})
        missing = post(user, "/api/jobs/99999999/status/", {"status": "cancelled", "from": "open"})
        assert forged.status_code == missing.status_code == 404
        assert forged.json() == missing.json()
        assert status_of(job) == "open"
        assert notes_of(job) == []

    @pytest.mark.parametrize(
        "data",
        [
            {},
            {"status": "done"},
            {"from": "open"},
            {"status": "hacked", "from": "open"},
            {"status": "done", "from": 3},
            {"status": ["done"], "from": "open"},
            [1, 2],
            "done",
        ],
    )
    def test_bad_bodies_are_a_400_naming_the_field(self, world, post, data):
        response = post(world.u.sam, status_path(world.jobs.sparks), data)
        assert response.status_code == 400
        body = response.json()
        assert body["errors"] and set(body["errors"]) <= {"status", "from"}
        assert status_of(world.jobs.sparks) == "open"


class TestIdempotencyKey:
    def test_the_same_note_sent_three_times_with_one_key_is_one_note_and_one_answer(
        self, world, post
    ):
        answers = [
            post(world.u.sam, notes_path(world.jobs.sparks), {"body": "On site"}, key='"k-1"')
            for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [201, 201, 201]
        assert answers[0].json() == answers[1].json() == answers[2].json()
        assert "Idempotent-Replayed" not in answers[0]
        assert answers[1]["Idempotent-Replayed"] == answers[2]["Idempotent-Replayed"] == "true"
        assert notes_of(world.jobs.sparks) == [("sam", "On site")]

    def test_the_same_status_change_twice_with_one_key_is_one_change(self, world, post):
        data = {"status": "done", "from": "open"}
        first = post(world.u.sam, status_path(world.jobs.sparks), data, key="k-2")
        second = post(world.u.sam, status_path(world.jobs.sparks), data, key="k-2")
        assert first.status_code == second.status_code == 200
        assert first.json() == second.json()
        assert notes_of(world.jobs.sparks) == [("sam", "status: open → done, by sam")]

    def test_without_a_key_each_post_writes(self, world, post):
        for _ in range(2):
            post(world.u.sam, notes_path(world.jobs.sparks), {"body": "Again"})
        assert len(notes_of(world.jobs.sparks)) == 2

    def test_the_same_key_with_another_body_is_a_422_and_writes_nothing(self, world, post):
        post(world.u.sam, notes_path(world.jobs.sparks), {"body": "One"}, key="k-3")
        other = post(world.u.sam, notes_path(world.jobs.sparks), {"body": "Two"}, key="k-3")
        elsewhere = post(world.u.sam, notes_path(world.jobs.plumbing), {"body": "One"}, key="k-3")
        assert other.status_code == elsewhere.status_code == 422
        assert "different request" in other.json()["detail"]
        assert notes_of(world.jobs.sparks) == [("sam", "One")]
        assert notes_of(world.jobs.plumbing) == []

    def test_keys_are_per_user(self, world, post):
        """elle's key "k" is not sam's: both write, neither sees the other's answer."""
        post(world.u.sam, notes_path(world.jobs.electrical), {"body": "sam's"}, key="k")
        response = post(
            world.u.elle, notes_path(world.jobs.electrical), {"body": "elle's"}, key="k"
        )
        assert response.status_code == 201 and response.json()["body"] == "elle's"
        assert sorted(notes_of(world.jobs.electrical)) == [("elle", "elle's"), ("sam", "sam's")]

    def test_an_error_stores_nothing_and_the_key_can_be_sent_again(self, world, post):
        """A stale change (409) writes and stores nothing: the key stays free, and the request
        corrected with the status read again goes through under it."""
        job = world.jobs.sparks
        with unscoped("setup"):
            Job.objects.filter(pk=job.pk).update(status="scheduled")
        stale = post(world.u.sam, status_path(job), {"status": "done", "from": "open"}, key="k-4")
        assert stale.status_code == 409
        again = post(
            world.u.sam, status_path(job), {"status": "done", "from": "scheduled"}, key="k-4"
        )
        assert again.status_code == 200
        assert notes_of(job) == [("sam", "status: scheduled → done, by sam")]

    def test_a_key_older_than_a_day_is_forgotten(self, world, post):
        post(world.u.sam, notes_path(world.jobs.sparks), {"body": "Monday"}, key="k-5")
        with acting_as(world.u.sam):
            Submit.objects.update(created_at=timezone.now() - LIFETIME)
        post(world.u.sam, notes_path(world.jobs.sparks), {"body": "Tuesday"}, key="k-5")
        assert [body for _, body in notes_of(world.jobs.sparks)] == ["Monday", "Tuesday"]

    @pytest.mark.parametrize("key", ["", '""', "é", "x" * 256, 'a"b', " "])
    def test_a_malformed_key_is_a_400_and_writes_nothing(self, world, post, key):
        response = post(world.u.sam, notes_path(world.jobs.sparks), {"body": "x"}, key=key)
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()["errors"]
        assert notes_of(world.jobs.sparks) == []

    def test_a_key_still_in_flight_is_a_409(self, world, post, monkeypatch):
        """The first request holds the key until its transaction ends (on PostgreSQL an
        advisory lock, tried without waiting); a second one meanwhile gets 409."""
        monkeypatch.setattr("submits.once.in_flight", lambda user, key: True)
        response = post(world.u.sam, notes_path(world.jobs.sparks), {"body": "x"}, key="k-6")
        assert response.status_code == 409
        assert "still being processed" in response.json()["detail"]
        assert notes_of(world.jobs.sparks) == []

    def test_a_recorded_key_without_an_answer_is_a_409(self, world, post):
        """A row whose answer is not stored yet is a request in flight."""
        with acting_as(world.u.sam):
            Submit.objects.create(
                user=world.u.sam,
                key="k-7",
                request=digest("POST", notes_path(world.jobs.sparks), json.dumps({"body": "x"})),
            )
        response = post(world.u.sam, notes_path(world.jobs.sparks), {"body": "x"}, key="k-7")
        assert response.status_code == 409
        assert notes_of(world.jobs.sparks) == []
