"""
Seeing is not changing: what a member who may only read a job can do to it.

sam (Sparks) sees Sparks', Electrical's and Plumbing's jobs and may change the status of
Sparks' only. Each test is one attack, as SQL run as the app role inside sam's signed principal
(what an injection in one of his requests gets, PostgreSQL: the policies alone stop it) or
through the scoped ORM (both backends: the write rule in the statement stops it).
"""

import pytest
from django.db import DatabaseError, connection, transaction

from divisions.scoping import OutOfScope, acting_as, unscoped
from jobs.models import Job, JobNote
from tests.cluster import ON_CITUS, TENANT_MOVE_REFUSED

REFUSED_BY_POLICY = "row-level security"

postgres = pytest.mark.postgres


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def refused(sql, params=(), match=REFUSED_BY_POLICY):
    with pytest.raises(DatabaseError, match=match), transaction.atomic():
        rows(sql, params)


@pytest.fixture
def notes(world):
    """Notes by the tenant admin on every job sam sees, and one of sam's own."""
    with unscoped("setup"):
        written = [
            JobNote.objects.create(job=job, author=world.u.acme_admin, body="by the admin")
            for job in (world.jobs.sparks, world.jobs.electrical, world.jobs.plumbing)
        ]
    with acting_as(world.u.sam):
        written.append(JobNote.objects.create(job=world.jobs.sparks, author=world.u.sam, body="x"))
    return written


def stored_jobs(world):
    with unscoped("check"):
        return {
            job.pk: (job.title, job.status, job.division_id)
            for job in Job.objects.filter(tenant=world.tenants.acme)
        }


def note_count():
    with unscoped("check"):
        return JobNote.objects.count()


@postgres
class TestInjectedSQL:
    """SQL as the app role inside sam's principal: the per-command policies on jobs_job and
    jobs_jobnote (divisions/database/policies.sql) decide."""

    def test_delete_every_note_removes_none(self, world, notes):
        """DELETE FROM jobs_jobnote: only a tenant admin deletes a note (proone_delete)."""
        before = note_count()
        with acting_as(world.u.sam):
            assert rows("SELECT count(*) FROM jobs_jobnote") == [(len(notes),)]
            assert rows("DELETE FROM jobs_jobnote") == 0
        assert note_count() == before

    def test_rewriting_a_note_changes_none(self, world, notes):
        """UPDATE jobs_jobnote SET body: a note is never edited, his own neither."""
        with acting_as(world.u.sam):
            assert rows("UPDATE jobs_jobnote SET body = 'pwn'") == 0
        with unscoped("check"):
            assert not JobNote.objects.filter(body="pwn").exists()

    def test_renaming_every_visible_job_is_refused(self, world):
        """UPDATE jobs_job SET title = 'pwn': Electrical's and Plumbing's jobs match no UPDATE
        policy; his own division's match proone_update_status, whose check refuses any column
        but status and updated_at (proone_job_kept)."""
        before = stored_jobs(world)
        with acting_as(world.u.sam):
            refused("UPDATE jobs_job SET title = 'pwn'")
            others = [world.jobs.electrical.pk, world.jobs.plumbing.pk]
            assert rows("UPDATE jobs_job SET title = 'pwn' WHERE id = ANY(%s)", [others]) == 0
            refused("UPDATE jobs_job SET description = 'pwn' WHERE id = %s", [world.jobs.sparks.pk])
        assert stored_jobs(world) == before

    def test_changing_the_status_of_another_divisions_job_changes_nothing(self, world):
        with acting_as(world.u.sam):
            assert rows("UPDATE jobs_job SET status = 'done' RETURNING id") == [
                (world.jobs.sparks.pk,)
            ]
        with unscoped("check"):
            assert Job.objects.get(pk=world.jobs.electrical.pk).status == Job.Status.OPEN

    def test_moving_his_own_job_is_refused(self, world):
        """Carrying a job to another division, even one he sees, with its status."""
        with acting_as(world.u.sam):
            refused(
                "UPDATE jobs_job SET status = 'done', division_id = %s WHERE id = %s",
                [world.d.electrical.pk, world.jobs.sparks.pk],
            )

    def test_delete_every_job_removes_none(self, world, notes):
        before = stored_jobs(world)
        with acting_as(world.u.sam):
            rows("DELETE FROM jobs_jobnote")
            assert rows("DELETE FROM jobs_job") == 0
        assert stored_jobs(world) == before

    def test_planting_a_job_is_refused(self, world):
        """INSERT INTO jobs_job, even in his own division: only tenant admins create jobs."""
        with acting_as(world.u.sam):
            refused(
                "INSERT INTO jobs_job (tenant_id, division_id, title, description, status, "
                "created_at, updated_at) VALUES (%s, %s, 'planted', '', 'open', now(), now())",
                [world.tenants.acme.pk, world.d.sparks.pk],
            )

    def test_the_column_check_answers_nothing_about_other_jobs(self, world):
        """proone_job_kept() reads jobs as their owner: asked about a job of another division,
        or of another tenant, it answers false whatever the guess, so it probes no title."""
        with unscoped("read"):
            hidden = Job.objects.get(pk=world.jobs.ops.pk)
            seen = Job.objects.get(pk=world.jobs.electrical.pk)
        with acting_as(world.u.sam):
            for job in (hidden, seen):
                assert rows(
                    "SELECT proone_job_kept(%s, %s, %s, %s, %s, %s)",
                    [
                        job.pk,
                        job.tenant_id,
                        job.division_id,
                        job.title,
                        job.description,
                        job.created_at,
                    ],
                ) == [(False,)]

    def test_the_tenant_admin_still_writes_every_job_and_note(self, world, notes):
        with acting_as(world.u.acme_admin):
            assert rows("UPDATE jobs_job SET title = title || '!'") == len(stored_jobs(world))
            assert rows("DELETE FROM jobs_jobnote") == len(notes)
            # On a Citus cluster, Citus itself refuses to move a row to another tenant.
            refused(
                "UPDATE jobs_job SET tenant_id = %s",
                [world.tenants.globex.pk],
                match=TENANT_MOVE_REFUSED if ON_CITUS else REFUSED_BY_POLICY,
            )


class TestScopedORM:
    """The same attacks through the ORM inside acting_as(sam), both backends."""

    def test_update_of_every_visible_job_reaches_his_own_only(self, world):
        with acting_as(world.u.sam):
            assert Job.objects.count() == 3
            assert Job.objects.update(status="done") == 1
            with pytest.raises(OutOfScope), transaction.atomic():
                Job.objects.update(title="pwn")
        with unscoped("check"):
            assert set(Job.objects.filter(status="done").values_list("pk", flat=True)) == {
                world.jobs.sparks.pk
            }
            assert not Job.objects.filter(title="pwn").exists()

    def test_delete_of_every_visible_job_and_note_deletes_none(self, world, notes):
        before, notes_before = stored_jobs(world), note_count()
        with acting_as(world.u.sam):
            assert JobNote.objects.all().delete()[0] == 0
            assert Job.objects.all().delete()[0] == 0
            with pytest.raises(OutOfScope), transaction.atomic():
                notes[0].delete()
        assert stored_jobs(world) == before
        assert note_count() == notes_before

    def test_editing_a_note_is_refused(self, world, notes):
        own = notes[-1]
        own.body = "edited"
        with acting_as(world.u.sam), pytest.raises(OutOfScope), transaction.atomic():
            own.save()
        with acting_as(world.u.sam), pytest.raises(OutOfScope), transaction.atomic():
            JobNote.objects.update(body="edited")
        with unscoped("check"):
            assert not JobNote.objects.filter(body="edited").exists()

    def test_bulk_creating_jobs_is_refused(self, world):
        """bulk_create() calls no save(): it checks the placement itself."""
        planted = Job(tenant=world.tenants.acme, division=world.d.sparks, title="planted")
        with acting_as(world.u.sam), pytest.raises(OutOfScope), transaction.atomic():
            Job.objects.bulk_create([planted])
        with unscoped("check"):
            assert not Job.objects.filter(title="planted").exists()
        with acting_as(world.u.acme_admin):
            assert len(Job.objects.bulk_create([planted])) == 1

    def test_a_note_in_another_users_name_is_refused(self, world):
        with acting_as(world.u.sam), pytest.raises(OutOfScope), transaction.atomic():
            JobNote.objects.create(job=world.jobs.sparks, author=world.u.acme_admin, body="x")

    def test_deleting_a_user_keeps_their_notes_without_an_author(self, world, notes):
        """The one change a note allows: a tenant admin deleting its author's user clears the
        author (SET_NULL), on both layers."""
        with acting_as(world.u.acme_admin):
            type(world.u.sam).objects.get(pk=world.u.sam.pk).delete()
        with unscoped("check"):
            kept = JobNote.objects.get(pk=notes[-1].pk)
        assert (kept.author_id, kept.author_name, kept.body) == (None, "sam", "x")


@postgres
def test_the_write_policies_are_in_place(world):
    """The attacks above fail for a reason the policies state, not for lack of rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT polname, polcmd FROM pg_policy WHERE polrelid = 'jobs_job'::regclass"
        )
        policies = set(cursor.fetchall())
    assert {
        ("proone_read", "r"),
        ("proone_insert", "a"),
        ("proone_update", "w"),
        ("proone_update_status", "w"),
        ("proone_delete", "d"),
    } <= policies
