"""The DataScope history on PostgreSQL: recorded by the database under the verified principal,
read only by the tenant's admins and the scope's managers, written by nobody but the triggers.

Each attack runs as the app role inside a principal (what an injected statement gets) and
names what stops it.
"""

import pytest
from django.db import connection, transaction
from guardian.shortcuts import assign_perm

from divisions.scoping import acting_as, unscoped
from tests.divisions.test_rls_attacks import attempt, rows

pytestmark = pytest.mark.postgres

EVENT_COLUMNS = (
    "(tenant_id, datascope_id, what, division_id, division_name, actor_id, actor_name, recorded_at)"
)


def events_of(division):
    with unscoped("test check"):
        return rows(
            "SELECT what, division_name, actor_id, actor_name FROM divisions_datascopeevent "
            "WHERE datascope_id = %s ORDER BY id",
            [division.data_scope_id],
        )


def test_raw_sql_as_a_tenant_admin_is_recorded_with_that_admin(world):
    """A raw-SQL change to a scope's divisions, in a tenant admin's principal: the trigger
    records it with the admin the database verified, whatever the statement claims."""
    with unscoped("test setup"):
        rows("DELETE FROM divisions_datascopeevent")
    admin = world.u.acme_admin
    with acting_as(admin):
        rows(
            "INSERT INTO divisions_datascopedivision (tenant_id, datascope_id, division_id) "
            "VALUES (%s, %s, %s)",
            [world.tenants.acme.pk, world.d.electrical.data_scope_id, world.d.plumbing.pk],
        )
        rows(
            "DELETE FROM divisions_datascopedivision WHERE datascope_id = %s AND division_id = %s",
            [world.d.electrical.data_scope_id, world.d.sparks.pk],
        )
        rows(
            "UPDATE divisions_datascope SET is_everyone = true WHERE id = %s",
            [world.d.electrical.data_scope_id],
        )
    assert events_of(world.d.electrical) == [
        ("added", "Plumbing", admin.pk, "acme-admin"),
        ("removed", "Sparks", admin.pk, "acme-admin"),
        ("everyone_on", "", admin.pk, "acme-admin"),
    ]


def test_system_work_is_recorded_without_a_user(world):
    with unscoped("test setup"):
        rows("DELETE FROM divisions_datascopeevent")
        rows(
            "UPDATE divisions_datascope SET is_everyone = true WHERE id = %s",
            [world.d.hq.data_scope_id],
        )
    assert events_of(world.d.hq) == [("everyone_on", "", None, "")]


class TestReading:
    def read(self, user):
        with acting_as(user):
            return {
                (tenant, scope)
                for tenant, scope in rows(
                    "SELECT DISTINCT tenant_id, datascope_id FROM divisions_datascopeevent"
                )
            }

    def test_a_tenant_admin_reads_its_tenants_history_only(self, world):
        seen = self.read(world.u.acme_admin)
        assert seen and {tenant for tenant, _ in seen} == {world.tenants.acme.pk}
        assert {tenant for tenant, _ in self.read(world.u.globex_admin)} == {
            world.tenants.globex.pk
        }

    def test_a_member_reads_none_of_it(self, world):
        """Stopped by proone_read: a member is neither the tenant's admin nor a manager."""
        assert self.read(world.u.elle) == set()
        assert self.read(world.u.sam) == set()

    def test_a_division_manager_reads_the_history_of_its_scope_only(self, world):
        with unscoped("test setup"):
            assign_perm("divisions.change_datascope", world.u.elle, world.d.electrical.data_scope)
        assert self.read(world.u.elle) == {
            (world.tenants.acme.pk, world.d.electrical.data_scope_id)
        }


class TestForging:
    """Nobody but the trigger writes the history: no policy admits the app role's insert or
    update, and only system work deletes (a tenant deleted with its rows)."""

    def forged_insert(self, world, user_id):
        return (
            f"INSERT INTO divisions_datascopeevent {EVENT_COLUMNS} "
            "VALUES (%s, %s, 'removed', %s, 'Sparks', %s, 'globex-admin', "
            "now() - interval '1 year')",
            [world.tenants.acme.pk, world.d.electrical.data_scope_id, world.d.sparks.pk, user_id],
        )

    def test_a_tenant_admin_cannot_insert_a_forged_event(self, world):
        """A tenant admin planting an event in another's name: refused, no INSERT policy."""
        with acting_as(world.u.acme_admin):
            attempt(*self.forged_insert(world, world.u.globex_admin.pk))

    def test_system_work_cannot_insert_an_event_either(self, world):
        with unscoped("test attack"):
            attempt(*self.forged_insert(world, None))

    def test_a_tenant_admin_cannot_rewrite_or_delete_its_history(self, world):
        """UPDATE and DELETE match no row: no UPDATE policy, DELETE is system work's."""
        before = events_of(world.d.electrical)
        assert before
        with acting_as(world.u.acme_admin), transaction.atomic():
            updated = rows(
                "UPDATE divisions_datascopeevent SET actor_name = 'nobody', actor_id = NULL"
            )
            deleted = rows("DELETE FROM divisions_datascopeevent")
        assert (updated, deleted) == (0, 0)
        assert events_of(world.d.electrical) == before

    def test_the_recording_function_cannot_be_called_by_the_app_role(self, world):
        """proone_rls.record_scope_event() would insert as the owner: the schema and the
        function are the owner's alone."""
        with acting_as(world.u.acme_admin):
            attempt(
                "SELECT proone_rls.record_scope_event(%s, %s, 'removed', %s)",
                [world.tenants.acme.pk, world.d.electrical.data_scope_id, world.d.sparks.pk],
                match="permission denied",
            )

    def test_a_refused_change_records_nothing(self, world):
        """A member's change to a scope matches no row, so no event is written for it."""
        before = events_of(world.d.electrical)
        with acting_as(world.u.elle):
            rows("UPDATE divisions_datascope SET is_everyone = true")
            rows("DELETE FROM divisions_datascopedivision")
        assert events_of(world.d.electrical) == before


def test_the_owner_policy_is_for_the_owner_alone(world):
    """proone_owner_records admits the trigger functions' inserts (they run as the owner); the
    app role is not the owner, so it is not in that policy."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT polroles::regrole[]::text[] FROM pg_policy "
            "WHERE polname = 'proone_owner_records'"
        )
        (roles,) = cursor.fetchone()
        cursor.execute("SELECT current_user")
        (app,) = cursor.fetchone()
    assert app not in roles
