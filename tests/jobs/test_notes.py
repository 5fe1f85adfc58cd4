"""A job's page: why it is visible, its notes, and status changes by the people allowed to."""

import pytest
from django.test import Client

from divisions.scoping import unscoped
from jobs.models import NOTE_MAX_LENGTH, Job, JobNote
from tests.forms import note_form, status_form


def notes_of(job):
    with unscoped("check"):
        return list(JobNote.objects.filter(job=job).values_list("author_name", "body"))


def status_of(job):
    with unscoped("check"):
        return Job.objects.get(pk=job.pk).status


class TestWhy:
    @pytest.mark.parametrize(
        ("who", "job", "line"),
        [
            ("acme_admin", "sparks", "you are a tenant admin of Acme"),
            ("sam", "sparks", "your division, Sparks, owns it"),
            ("sam", "plumbing", "Plumbing shares its jobs with everyone in Acme"),
            ("sam", "electrical", "Electrical lists your division in its data scope"),
            ("alice", "hq", "your division, Head Office, owns it"),
            ("gina", "field", "your division, Field, owns it"),
        ],
    )
    def test_names_the_case_of_the_rule(self, client, world, who, job, line):
        client.force_login(getattr(world.u, who))
        body = client.get(getattr(world.jobs, job).get_absolute_url()).content.decode()
        assert f"You can see this job because {line}." in body

    def test_every_visible_job_has_a_reason(self, client, world):
        """The line comes from the rule: a visible job without a case would be a second rule."""
        for user in [world.u.alice, world.u.sam, world.u.elle, world.u.gina, world.u.acme_admin]:
            client.force_login(user)
            for job in vars(world.jobs).values():
                response = client.get(job.get_absolute_url())
                if response.status_code == 200:
                    assert response.context["why"] is not None, (user, job)


class TestNotes:
    def test_a_note_is_added_and_shown_escaped(self, client, world):
        client.force_login(world.u.alice)
        job = world.jobs.electrical
        response = client.post(
            f"/jobs/{job.pk}/notes/", note_form(world.u.alice, "<b>Fuse</b> board\nok")
        )
        assert response.status_code == 302
        assert notes_of(job) == [("alice", "<b>Fuse</b> board\nok")]
        body = client.get(job.get_absolute_url()).content.decode()
        assert "&lt;b&gt;Fuse&lt;/b&gt; board<br>ok" in body
        assert "<b>Fuse</b>" not in body

    def test_a_note_on_a_hidden_job_is_the_same_404(self, client, world):
        """A forged POST to a job sam cannot see: the same 404 as a missing job, no note."""
        client.force_login(world.u.sam)
        hidden = client.post(f"/jobs/{world.jobs.hq.pk}/notes/", {"body": "planted"})
        missing = client.post("/jobs/99999999/notes/", {"body": "planted"})
        assert hidden.status_code == missing.status_code == 404
        assert hidden.content == missing.content
        assert notes_of(world.jobs.hq) == []

    @pytest.mark.parametrize("body", ["", "   ", "x" * (NOTE_MAX_LENGTH + 1)])
    def test_empty_or_too_long_notes_are_refused(self, client, world, body):
        client.force_login(world.u.sam)
        response = client.post(f"/jobs/{world.jobs.sparks.pk}/notes/", {"body": body})
        assert response.status_code == 400
        assert response.context["note_form"].errors
        assert notes_of(world.jobs.sparks) == []

    def test_a_note_needs_the_csrf_token(self, world):
        client = Client(enforce_csrf_checks=True)
        client.force_login(world.u.sam)
        response = client.post(f"/jobs/{world.jobs.sparks.pk}/notes/", {"body": "x"})
        assert response.status_code == 403
        assert notes_of(world.jobs.sparks) == []

    def test_notes_of_a_visible_job_are_read_by_everyone_who_sees_it(self, client, world):
        client.force_login(world.u.sam)
        client.post(
            f"/jobs/{world.jobs.electrical.pk}/notes/", note_form(world.u.sam, "Cable on site")
        )
        client.force_login(world.u.alice)
        assert (
            "Cable on site" in client.get(world.jobs.electrical.get_absolute_url()).content.decode()
        )
        client.force_login(world.u.gina)
        assert client.get(world.jobs.electrical.get_absolute_url()).status_code == 404

    def test_anonymous_posts_go_to_sign_in(self, client, world):
        response = client.post(f"/jobs/{world.jobs.sparks.pk}/notes/", {"body": "x"})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert notes_of(world.jobs.sparks) == []


class TestStatus:
    def test_own_division_changes_the_status_and_a_note_records_it(self, client, world):
        client.force_login(world.u.sam)
        job = world.jobs.sparks
        assert "Change status" in client.get(job.get_absolute_url()).content.decode()
        response = client.post(
            f"/jobs/{job.pk}/status/", status_form(world.u.sam, "scheduled", "open")
        )
        assert response.status_code == 302
        assert status_of(job) == "scheduled"
        assert notes_of(job) == [("sam", "status: open → scheduled, by sam")]

    def test_tenant_admin_changes_any_jobs_status(self, client, world):
        client.force_login(world.u.acme_admin)
        client.post(
            f"/jobs/{world.jobs.acme_unassigned.pk}/status/",
            status_form(world.u.acme_admin, "done", "open"),
        )
        assert status_of(world.jobs.acme_unassigned) == "done"

    @pytest.mark.parametrize(("who", "job"), [("sam", "electrical"), ("alice", "plumbing")])
    def test_others_who_see_the_job_get_no_button_and_the_404(self, client, world, who, job):
        """A forged status POST by someone who may see but not change the job: the same 404
        as for a job they cannot see, and nothing changes."""
        client.force_login(getattr(world.u, who))
        job = getattr(world.jobs, job)
        assert "Change status" not in client.get(job.get_absolute_url()).content.decode()
        forged = client.post(f"/jobs/{job.pk}/status/", {"status": "cancelled"})
        hidden = client.post(f"/jobs/{world.jobs.ops.pk}/status/", {"status": "cancelled"})
        assert forged.status_code == hidden.status_code == 404
        assert forged.content == hidden.content
        assert status_of(job) == "open"
        assert notes_of(job) == []

    def test_a_bad_status_is_a_400_and_changes_nothing(self, client, world):
        client.force_login(world.u.sam)
        response = client.post(f"/jobs/{world.jobs.sparks.pk}/status/", {"status": "hacked"})
        assert response.status_code == 400
        assert status_of(world.jobs.sparks) == "open"

    def test_the_same_status_records_nothing(self, client, world):
        client.force_login(world.u.sam)
        client.post(
            f"/jobs/{world.jobs.sparks.pk}/status/", status_form(world.u.sam, "open", "open")
        )
        assert notes_of(world.jobs.sparks) == []

    def test_get_is_not_allowed(self, client, world):
        client.force_login(world.u.sam)
        assert client.get(f"/jobs/{world.jobs.sparks.pk}/status/").status_code == 405


class TestAdmin:
    def test_tenant_admins_see_their_tenants_notes_only(self, client, world):
        with unscoped("setup"):
            acme = JobNote.objects.create(job=world.jobs.hq, body="acme note")
            globex = JobNote.objects.create(job=world.jobs.ops, body="globex note")
        client.force_login(world.u.acme_admin)
        listed = client.get("/admin/jobs/jobnote/")
        assert listed.status_code == 200
        assert "acme note" in listed.content.decode()
        assert "globex note" not in listed.content.decode()
        assert client.get(f"/admin/jobs/jobnote/{acme.pk}/change/").status_code == 200
        assert client.get(f"/admin/jobs/jobnote/{globex.pk}/change/").status_code == 404

    def test_members_have_no_notes_admin(self, client, world):
        client.force_login(world.u.alice)
        assert client.get("/admin/jobs/jobnote/").status_code in (302, 403)
