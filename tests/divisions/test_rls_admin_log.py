"""
SQL injection as the app role against the Django admin's log (its policies and
proone_rls.admin_log_stamp, divisions/database/).

Each entry names an object and what changed (a job's title, a user's name), so an injection
that reads the log reads what tenant admins of every tenant did, and one that writes it fakes
the audit trail. Each test is one attack, run inside `acting_as(user)` as an injected statement
of that user's request would be.
"""

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.urls import reverse
from guardian.shortcuts import assign_perm

from divisions.models import User
from divisions.scoping import acting_as, unscoped
from jobs.models import Job
from tests.divisions.test_rls_attacks import attempt, in_savepoint, rows

pytestmark = pytest.mark.postgres


def entry(user, job, message):
    """A change of `job` logged in `user`'s name, written as system work."""
    with unscoped("test setup"):
        LogEntry.objects.create(
            user=user,
            content_type=ContentType.objects.get_for_model(Job),
            object_id=str(job.pk),
            object_repr=job.title,
            action_flag=CHANGE,
            change_message=message,
        )


@pytest.fixture
def logged(world):
    """Entries by Acme's tenant admin, by elle (Electrical's division manager), by sam, and by
    Globex's tenant admin, each naming a job of its tenant."""
    with unscoped("test setup"):
        assign_perm("divisions.change_datascope", world.u.elle, world.d.electrical.data_scope)
    entry(world.u.acme_admin, world.jobs.hq, "Renamed the head office job")
    entry(world.u.elle, world.jobs.electrical, "Elle's change")
    entry(world.u.sam, world.jobs.sparks, "Sam's change")
    entry(world.u.globex_admin, world.jobs.ops, "Globex's secret change")


def messages():
    return {message for (message,) in rows("SELECT change_message FROM django_admin_log")}


PLANT = (
    "INSERT INTO django_admin_log (action_time, user_id, content_type_id, object_id, "
    "object_repr, action_flag, change_message, tenant_id) "
    "VALUES ('2001-01-01', %s, %s, '1', 'planted', 3, 'planted', %s)"
)


def plant(author, tenant, returning=""):
    """The INSERT an injection would send, dated long ago and naming `tenant`."""
    return PLANT + returning, [author.pk, ContentType.objects.get_for_model(Job).pk, tenant.pk]


def history(client, job):
    return client.get(reverse("admin:jobs_job_history", args=[job.pk])).content.decode()


def delete_in_the_admin(client, job):
    """Delete `job` through the admin's delete page: (the deletion's entry, its tenant id)."""
    response = client.post(reverse("admin:jobs_job_delete", args=[job.pk]), {"post": "yes"})
    assert response.status_code == 302
    with unscoped("test check"):
        written = LogEntry.objects.get(object_id=str(job.pk), action_flag=DELETION)
        [(tenant_id,)] = rows("SELECT tenant_id FROM django_admin_log WHERE id = %s", [written.pk])
    return written, tenant_id


def deletions_read_by(user):
    with acting_as(user):
        return rows("SELECT count(*) FROM django_admin_log WHERE action_flag = %s", [DELETION])


class TestReadingTheLog:
    def test_member_reads_only_its_own_entries(self, world, logged):
        """Attack: a member's injection reads every tenant's admin log (job titles, what each
        tenant admin changed). Stopped by proone_read on django_admin_log: a member reads
        the entries in its own name only."""
        with acting_as(world.u.sam):
            assert messages() == {"Sam's change"}

    def test_tenant_admin_reads_its_tenants_entries_only(self, world, logged):
        """Attack: a tenant admin's injection reads another tenant's log. Stopped by
        proone_read: a tenant admin reads its own tenant's entries."""
        with acting_as(world.u.acme_admin):
            assert messages() == {"Renamed the head office job", "Elle's change", "Sam's change"}
        with acting_as(world.u.globex_admin):
            assert messages() == {"Globex's secret change"}

    def test_division_manager_reads_only_its_own_entries(self, world, logged):
        """Attack: a division manager's injection reads the tenant admin's entries, which name
        jobs outside the scope it manages. Stopped by proone_read: only tenant admins read
        other users' entries."""
        with acting_as(world.u.elle):
            assert messages() == {"Elle's change"}

    def test_nobody_reads_nothing(self, world, logged):
        """A request with no signed-in user (no principal) reads no entry."""
        with acting_as(world.u.anonymous):
            assert rows("SELECT count(*) FROM django_admin_log") == [(0,)]

    def test_an_author_moved_to_another_tenant_takes_no_entry_along(self, world, logged):
        """Attack: once a platform operator moves elle to Globex, Globex's tenant admin reads
        what elle changed at Acme. Stopped by the entry's own tenant (set when it was
        written): Acme's admin still reads it, Globex's admin and elle no longer do."""
        with unscoped("a platform operator moves elle"):
            User.objects.filter(pk=world.u.elle.pk).update(
                tenant=world.tenants.globex, division=world.d.field
            )
        with acting_as(world.u.globex_admin):
            assert messages() == {"Globex's secret change"}
        with unscoped("test setup"):
            moved = User.objects.get(pk=world.u.elle.pk)
        with acting_as(moved):
            assert messages() == set()
        with acting_as(world.u.acme_admin):
            assert "Elle's change" in messages()


class TestWritingTheLog:
    @pytest.mark.parametrize(
        "actor, victim",
        [("acme_admin", "alice"), ("acme_admin", "globex_admin"), ("sam", "acme_admin")],
    )
    def test_nobody_writes_in_another_users_name(self, world, logged, actor, victim):
        """Attack: plant an entry in someone else's name, of one's own tenant or another, to
        fake the audit trail. Stopped by proone_insert: an entry is in one's own name."""
        with acting_as(getattr(world.u, actor)):
            attempt(*plant(getattr(world.u, victim), world.tenants.acme))

    @pytest.mark.parametrize("author", ["acme_admin", "elle", "sam"])
    def test_the_database_dates_and_places_an_entry(self, world, logged, author):
        """Attack: an injection writes an entry in its own name but dated years ago (a
        "deletion" of a job, for the tenant admin's history page), or in another tenant's log.
        Stopped by the trigger before the policy: the entry gets the transaction's time and
        the author's tenant."""
        user = getattr(world.u, author)
        with acting_as(user):
            stored = plant(user, world.tenants.globex, " RETURNING action_time = now(), tenant_id")
            assert in_savepoint(*stored) == [(True, world.tenants.acme.pk)]

    def test_a_tenant_admin_who_steps_down_logs_it(self, world, logged):
        """The admin saves a change first and logs it after: a tenant admin who removes their
        own admin and staff flags still writes the entry in their own name."""
        admin = world.u.acme_admin
        with acting_as(admin), transaction.atomic():
            rows(
                "UPDATE divisions_user SET is_tenant_admin = false, is_staff = false WHERE id = %s",
                [admin.pk],
            )
            assert in_savepoint(*plant(admin, world.tenants.acme)) == 1
            transaction.set_rollback(True)

    @pytest.mark.parametrize("actor", ["acme_admin", "elle", "sam"])
    def test_nobody_rewrites_or_erases_an_entry(self, world, logged, actor):
        """Attack: rewrite what an entry says, or erase the log (one's own entries included).
        Stopped by proone_update and proone_delete (system work only): no row matches."""
        with acting_as(getattr(world.u, actor)):
            assert in_savepoint("UPDATE django_admin_log SET change_message = 'nothing'") == 0
            assert in_savepoint("DELETE FROM django_admin_log") == 0
        with unscoped("test check"):
            assert LogEntry.objects.count() == 4

    def test_deleting_a_user_erases_none_of_their_entries(self, world, logged):
        """Attack: a tenant admin's injection deletes a user's row to erase that user's
        entries with it. Stopped by the foreign key's ON DELETE SET NULL: the entries stay,
        without an author."""
        with acting_as(world.u.acme_admin), transaction.atomic():
            assert rows("DELETE FROM divisions_user WHERE id = %s", [world.u.sam.pk]) == 1
            with unscoped("test check"):
                assert rows(
                    "SELECT user_id, change_message FROM django_admin_log "
                    "WHERE change_message = %s",
                    ["Sam's change"],
                ) == [(None, "Sam's change")]
            transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_deleting_a_user_in_the_admin_keeps_their_entries(client, world, logged):
    """A tenant admin deletes elle in the admin, committed: her entries stay without an author
    (the history page, which lists entries with their author, no longer shows them), and the
    deletion is logged."""
    client.force_login(world.u.acme_admin)
    response = client.post(
        reverse("admin:divisions_user_delete", args=[world.u.elle.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    with unscoped("test check"):
        assert not User.objects.filter(pk=world.u.elle.pk).exists()
        assert set(rows("SELECT user_id IS NULL, object_repr FROM django_admin_log")) == {
            (False, "Head Office job"),
            (True, "Electrical job"),
            (False, "Sparks job"),
            (False, "Ops job"),
            (False, "elle"),
        }
    page = history(client, world.jobs.electrical)
    assert "Elle&#x27;s change" not in page and "Electrical job" in page


def test_the_admin_writes_and_shows_its_log(client, world, logged):
    """The admin's own use through the policies: a job's history page lists elle's change to
    it; a job deleted in the admin is logged in the admin's name and tenant, and shown in
    "Recent actions"; neither Globex's admin nor a member of the tenant reads that entry."""
    client.force_login(world.u.acme_admin)
    assert "Elle&#x27;s change" in history(client, world.jobs.electrical)
    written, tenant_id = delete_in_the_admin(client, world.jobs.hq)
    assert (written.user_id, written.object_repr, tenant_id) == (
        world.u.acme_admin.pk,
        "Head Office job",
        world.tenants.acme.pk,
    )
    assert "Head Office job" in client.get(reverse("admin:index")).content.decode()
    assert deletions_read_by(world.u.globex_admin) == deletions_read_by(world.u.sam) == [(0,)]


def test_a_platform_operators_entries_are_system_works(client, world, logged):
    """A platform operator's admin runs as system work: it reads every tenant's history and
    logs its own changes, which have no tenant and so reach no tenant admin."""
    client.force_login(world.u.operator)
    assert "Globex&#x27;s secret change" in history(client, world.jobs.ops)
    written, tenant_id = delete_in_the_admin(client, world.jobs.electrical)
    assert (written.user_id, tenant_id) == (world.u.operator.pk, None)
    assert deletions_read_by(world.u.acme_admin) == [(0,)]
