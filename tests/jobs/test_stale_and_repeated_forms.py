"""The job page's forms write once and never over a change made meanwhile: a status change is
made from the status the page showed, and a form's one-use token is spent by its write."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from divisions.scoping import acting_as, unscoped
from jobs.models import Job, JobNote
from submits import tokens
from submits.models import LIFETIME, Submit
from tests.forms import note_form, status_form


def notes_of(job):
    with unscoped("check"):
        return list(JobNote.objects.filter(job=job).values_list("author_name", "body"))


def status_of(job):
    with unscoped("check"):
        return Job.objects.get(pk=job.pk).status


def status_url(job):
    return f"/jobs/{job.pk}/status/"


def note_url(job):
    return f"/jobs/{job.pk}/notes/"


class TestStaleStatus:
    def test_a_change_from_a_stale_page_writes_nothing_and_names_who_changed_it(
        self, client, world
    ):
        """sam's page shows Open; acme-admin changes it to Done; sam's Scheduled is refused
        with a 409 naming acme-admin, and the stored status and notes are the admin's."""
        job = world.jobs.sparks
        sams_form = status_form(world.u.sam, "scheduled", "open")
        client.force_login(world.u.acme_admin)
        assert (
            client.post(
                status_url(job), status_form(world.u.acme_admin, "done", "open")
            ).status_code
            == 302
        )

        client.force_login(world.u.sam)
        response = client.post(status_url(job), sams_form)
        assert response.status_code == 409
        problem = response.context["status_problem"]
        assert problem.startswith(
            f"This job was changed to Done by {world.u.acme_admin.username} at "
        )
        assert problem.endswith("while you were looking at it; nothing was changed.")
        assert problem in response.content.decode()
        assert status_of(job) == "done"
        assert notes_of(job) == [("acme-admin", "status: open → done, by acme-admin")]
        # The page shows the job as it is now, and the form starts from there.
        assert response.context["job"].status == "done"
        assert response.context["status_form"].initial == {"status": "scheduled", "seen": "done"}

    def test_sending_the_refused_change_again_from_the_new_page_makes_it(self, client, world):
        job = world.jobs.sparks
        with unscoped("setup"):
            Job.objects.filter(pk=job.pk).update(status="done")
        client.force_login(world.u.sam)
        refused = client.post(status_url(job), status_form(world.u.sam, "scheduled", "open"))
        assert refused.status_code == 409
        # Changed outside the portal: no note to name anyone.
        assert refused.context["status_problem"] == (
            "This job was changed to Done while you were looking at it; nothing was changed."
        )
        again = client.post(status_url(job), status_form(world.u.sam, "scheduled", "done"))
        assert again.status_code == 302
        assert notes_of(job) == [("sam", "status: done → scheduled, by sam")]

    def test_a_note_that_only_looks_like_a_status_note_is_not_taken_for_one(self, client, world):
        """Anyone who sees the job writes notes: sam's note "status: open → done, by elle"
        does not make the conflict name elle; the admin's real change is named."""
        job = world.jobs.sparks
        stale = status_form(world.u.sam, "scheduled", "open")
        client.force_login(world.u.acme_admin)
        client.post(status_url(job), status_form(world.u.acme_admin, "done", "open"))
        client.force_login(world.u.sam)
        client.post(note_url(job), note_form(world.u.sam, "status: open → done, by elle"))
        response = client.post(status_url(job), stale)
        assert "changed to Done by acme-admin at" in response.context["status_problem"]

    @pytest.mark.parametrize("seen", [None, "", "hacked"])
    def test_a_form_without_the_status_seen_is_a_400(self, client, world, seen):
        client.force_login(world.u.sam)
        data = status_form(world.u.sam, "done", seen)
        if seen is None:
            del data["seen"]
        response = client.post(status_url(world.jobs.sparks), data)
        assert response.status_code == 400
        assert "Reload the page" in response.content.decode()
        assert status_of(world.jobs.sparks) == "open"

    def test_the_page_carries_the_status_it_shows(self, client, world):
        client.force_login(world.u.sam)
        with unscoped("setup"):
            Job.objects.filter(pk=world.jobs.sparks.pk).update(status="in_progress")
        body = client.get(world.jobs.sparks.get_absolute_url()).content.decode()
        assert '<input type="hidden" name="seen" value="in_progress"' in body
        assert body.count(f'name="{tokens.FIELD}"') == 2


class TestRepeatedForms:
    def test_a_note_form_sent_three_times_adds_one_note(self, client, world):
        client.force_login(world.u.sam)
        form = note_form(world.u.sam, "Parts ordered")
        answers = [client.post(note_url(world.jobs.sparks), form) for _ in range(3)]
        assert {(a.status_code, a["Location"]) for a in answers} == {
            (302, f"/jobs/{world.jobs.sparks.pk}/#notes")
        }
        assert notes_of(world.jobs.sparks) == [("sam", "Parts ordered")]

    def test_a_status_form_sent_twice_changes_once(self, client, world):
        client.force_login(world.u.sam)
        form = status_form(world.u.sam, "done", "open")
        first, second = (client.post(status_url(world.jobs.sparks), form) for _ in range(2))
        assert first.status_code == second.status_code == 302
        assert first["Location"] == second["Location"]
        assert notes_of(world.jobs.sparks) == [("sam", "status: open → done, by sam")]

    def test_two_forms_of_one_page_are_two_writes(self, client, world):
        client.force_login(world.u.sam)
        client.post(note_url(world.jobs.sparks), note_form(world.u.sam, "One"))
        client.post(note_url(world.jobs.sparks), note_form(world.u.sam, "Two"))
        assert [body for _, body in notes_of(world.jobs.sparks)] == ["One", "Two"]

    def test_a_spent_token_sent_with_other_content_writes_nothing_and_says_so(self, client, world):
        """Back to the page, another text, the same token: 409, the text kept in the form."""
        client.force_login(world.u.sam)
        form = note_form(world.u.sam, "First")
        client.post(note_url(world.jobs.sparks), form)
        response = client.post(note_url(world.jobs.sparks), {**form, "body": "Second"})
        assert response.status_code == 409
        assert "already sent once" in response.context["note_problem"]
        assert response.context["note_form"].initial == {"body": "Second"}
        assert notes_of(world.jobs.sparks) == [("sam", "First")]

    def test_a_refused_change_spends_no_token(self, client, world):
        """A 409 wrote nothing, so its token stays unspent: nothing is remembered."""
        with unscoped("setup"):
            Job.objects.filter(pk=world.jobs.sparks.pk).update(status="done")
        client.force_login(world.u.sam)
        client.post(status_url(world.jobs.sparks), status_form(world.u.sam, "scheduled", "open"))
        with unscoped("check"):
            assert not Submit.objects.exists()

    @pytest.mark.parametrize(
        "token",
        [None, "", "garbage", "1:abc:xyz", "x" * 5000],
        ids=["missing", "empty", "garbage", "unsigned", "huge"],
    )
    def test_a_form_without_a_usable_token_is_a_400(self, client, world, token):
        client.force_login(world.u.sam)
        for url, data in [
            (note_url(world.jobs.sparks), note_form(world.u.sam, "x")),
            (status_url(world.jobs.sparks), status_form(world.u.sam, "done", "open")),
        ]:
            data.pop(tokens.FIELD)
            if token is not None:
                data[tokens.FIELD] = token
            response = client.post(url, data)
            assert response.status_code == 400
            assert "more than a day old or was not sent from its page" in response.content.decode()
        assert notes_of(world.jobs.sparks) == []
        assert status_of(world.jobs.sparks) == "open"

    def test_another_users_token_is_refused(self, client, world):
        """A token names its user: elle's token in sam's POST is not sam's."""
        client.force_login(world.u.sam)
        data = {**note_form(world.u.sam, "x"), tokens.FIELD: tokens.issue(world.u.elle)}
        assert client.post(note_url(world.jobs.sparks), data).status_code == 400
        assert notes_of(world.jobs.sparks) == []

    def test_a_token_older_than_a_day_is_refused(self, client, world, monkeypatch):
        client.force_login(world.u.sam)
        earlier = time.time() - LIFETIME.total_seconds() - 60
        with monkeypatch.context() as issued_then:
            issued_then.setattr("time.time", lambda: earlier)
            data = note_form(world.u.sam, "late")
        assert client.post(note_url(world.jobs.sparks), data).status_code == 400
        assert notes_of(world.jobs.sparks) == []
        fresh = note_form(world.u.sam, "late")
        assert client.post(note_url(world.jobs.sparks), fresh).status_code == 302

    def test_spent_tokens_older_than_a_day_are_deleted_as_the_user_submits(self, client, world):
        client.force_login(world.u.sam)
        client.post(note_url(world.jobs.sparks), note_form(world.u.sam, "old"))
        with acting_as(world.u.elle):
            Submit.objects.create(user=world.u.elle, key="elle's", request="x")
            elles = Submit.objects.filter(user=world.u.elle)
            elles.update(created_at=timezone.now() - 2 * LIFETIME)
        with acting_as(world.u.sam):
            sams = Submit.objects.filter(user=world.u.sam)
            sams.update(created_at=timezone.now() - LIFETIME - timedelta(minutes=1))
        client.post(note_url(world.jobs.sparks), note_form(world.u.sam, "new"))
        with unscoped("check"):
            kept = sorted(Submit.objects.values_list("user__username", flat=True))
        # sam's old one went; elle's waits for her next submit or manage.py clearsubmits.
        assert kept == ["elle", "sam"]
