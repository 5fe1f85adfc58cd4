"""PostgreSQL: raw SQL as the app role sees and writes only the notes of visible jobs."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from divisions.scoping import acting_as, unscoped
from jobs.models import JobNote

pytestmark = pytest.mark.postgres


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def refused(sql, params, error=DatabaseError):
    with pytest.raises(error), transaction.atomic():
        rows(sql, params)


@pytest.fixture
def notes(world):
    with unscoped("setup"):
        return {
            name: JobNote.objects.create(job=job, body=f"{name} note", author=world.u.acme_admin)
            for name, job in vars(world.jobs).items()
        }


# The author's name as an injection writes it: its own (a literal, which any cluster runs:
# Citus takes no subquery in an INSERT's values).
INSERT = (
    "INSERT INTO jobs_jobnote (tenant_id, job_id, author_id, author_name, body, created_at) "
    "VALUES (%s, %s, %s, %s, 'planted', now())"
)


def test_injected_select_reads_only_notes_of_visible_jobs(world, notes):
    """SQL injection as alice: SELECT * FROM jobs_jobnote; the policy asks jobs_job's policy."""
    with acting_as(world.u.alice):
        bodies = {body for (body,) in rows("SELECT body FROM jobs_jobnote")}
        joined = rows(
            "SELECT count(*) FROM jobs_job j RIGHT JOIN jobs_jobnote n "
            "ON n.job_id = j.id AND n.tenant_id = j.tenant_id"
        )
    assert bodies == {"hq note", "electrical note", "plumbing note"}
    assert joined == [(3,)]
    assert rows("SELECT count(*) FROM jobs_jobnote") == [(0,)]  # no principal: nothing


def test_injected_insert_on_a_hidden_job_is_refused(world, notes):
    """SQL injection as sam: a note planted on Head Office's job fails WITH CHECK."""
    acme = world.tenants.acme.pk
    with acting_as(world.u.sam):
        refused(INSERT, [acme, world.jobs.hq.pk, world.u.sam.pk, world.u.sam.username])
        refused(
            INSERT,
            [world.tenants.globex.pk, world.jobs.ops.pk, world.u.sam.pk, world.u.sam.username],
        )
        rows(
            INSERT, [acme, world.jobs.sparks.pk, world.u.sam.pk, world.u.sam.username]
        )  # its own job: allowed
    with unscoped("check"):
        assert not JobNote.objects.filter(job=world.jobs.hq, body="planted").exists()


def test_injected_note_in_another_users_name_is_refused(world, notes):
    """A note signed as the tenant admin by sam's session: author_id and author_name must be
    the principal's."""
    with acting_as(world.u.sam):
        refused(
            "INSERT INTO jobs_jobnote (tenant_id, job_id, author_id, author_name, body, "
            "created_at) VALUES (%s, %s, %s, 'acme-admin', 'planted', now())",
            [world.tenants.acme.pk, world.jobs.sparks.pk, world.u.sam.pk],
        )
        refused(
            INSERT,
            [
                world.tenants.acme.pk,
                world.jobs.sparks.pk,
                world.u.acme_admin.pk,
                world.u.sam.username,
            ],
        )
        # Someone else's note on a visible job: the update finds no row it may change.
        assert rows("UPDATE jobs_jobnote SET body = 'x' WHERE id = %s", [notes["sparks"].pk]) == 0
    with unscoped("check"):
        assert JobNote.objects.get(pk=notes["sparks"].pk).body == "sparks note"


def test_injected_update_cannot_move_a_note_to_a_hidden_job(world, notes):
    """Moving one's own note onto a hidden job, to write into it: a note is never edited, so
    the update matches no row (proone_update on jobs_jobnote), and for a tenant admin it fails
    the column check (proone_note_kept)."""
    with acting_as(world.u.sam):
        rows(
            INSERT,
            [world.tenants.acme.pk, world.jobs.sparks.pk, world.u.sam.pk, world.u.sam.username],
        )
        assert (
            rows(
                "UPDATE jobs_jobnote SET job_id = %s WHERE author_id = %s",
                [world.jobs.hq.pk, world.u.sam.pk],
            )
            == 0
        )
        assert rows("DELETE FROM jobs_jobnote WHERE id = %s", [notes["hq"].pk]) == 0
    with acting_as(world.u.acme_admin):
        refused(
            "UPDATE jobs_jobnote SET job_id = %s WHERE author_id = %s",
            [world.jobs.hq.pk, world.u.sam.pk],
        )


def test_a_note_cannot_name_another_tenant_than_its_job(world):
    """Even system work: the composite foreign key (job_id, tenant_id) rejects the row."""
    with unscoped("attempt"):
        refused(
            INSERT,
            [
                world.tenants.globex.pk,
                world.jobs.hq.pk,
                world.u.acme_admin.pk,
                world.u.acme_admin.username,
            ],
            IntegrityError,
        )
