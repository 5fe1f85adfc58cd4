"""PostgreSQL: raw SQL as the app role, inside a principal, against the recorded DataScope
changes (divisions.DataScopeChange: who changed a scope, from what to what). Each test names the
attack and the policy that stops it. On a Citus cluster the table is distributed and the
workers' policies answer, with the scopes the user manages sealed in the claim."""

import pytest
from django.db import DatabaseError, connection, transaction

from divisions.models import DataScopeChange
from divisions.scoping import acting_as, unscoped
from tests.divisions.test_admin_scope import make_manager

pytestmark = pytest.mark.postgres

INSERT = (
    "INSERT INTO divisions_datascopechange "
    "(tenant_id, datascope_id, changed_by_name, changed_at, before, after) "
    "VALUES (%s, %s, %s, now(), '{}', '{}') RETURNING id"
)


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def refused(sql, params):
    with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        rows(sql, params)


def planted(division, by):
    """The INSERT's parameters: a change of `division`'s scope, in its tenant, named `by`."""
    return [division.tenant_id, division.data_scope_id, by]


def admitted(sql, params):
    with transaction.atomic():
        assert len(rows(sql, params)) == 1
        transaction.set_rollback(True)


@pytest.fixture
def changes(world):
    """One recorded change of Head Office's scope (Acme) and one of Field's (Globex)."""
    with unscoped("test setup"):
        return {
            division.name: DataScopeChange.objects.create(
                tenant_id=division.tenant_id,
                datascope_id=division.data_scope_id,
                changed_by_name="an admin",
                before={"everyone": False},
                after={"everyone": True},
            )
            for division in (world.d.hq, world.d.field)
        }


def test_a_member_cannot_plant_a_change(world):
    """SQL injection as alice: a made-up change of a scope's history (to cover a real one, or
    to blame someone): proone_insert admits the tenant's admins and the scope's managers."""
    with acting_as(world.u.alice):
        refused(INSERT, planted(world.d.hq, "alice"))
        refused(INSERT, planted(world.d.plumbing, "acme-admin"))


def test_a_manager_records_changes_of_their_own_scope_only(world):
    """Elle manages Plumbing's scope (django-guardian): she records a change of it, and an
    injection as her plants one of Head Office's scope or of Globex's Field scope: refused
    (proone_insert: the scopes the user manages, in the user's tenant)."""
    make_manager(world.u.elle, world.d.plumbing)
    with acting_as(world.u.elle):
        admitted(INSERT, planted(world.d.plumbing, "elle"))
        refused(INSERT, planted(world.d.hq, "elle"))
        refused(INSERT, planted(world.d.field, "elle"))


def test_an_admin_records_changes_in_their_own_tenant_only(world):
    """Globex's admin plants a change in Acme's history: refused (proone_insert: the admin's
    own tenant). In Globex it is theirs to record."""
    with acting_as(world.u.globex_admin):
        refused(INSERT, planted(world.d.hq, "globex-admin"))
        admitted(INSERT, planted(world.d.field, "globex-admin"))


def test_history_is_read_within_its_tenant_only(world, changes):
    """An injection as gina (Globex) reads every recorded change: only Globex's come back;
    alice reads Acme's (proone_read: the acting tenant's); with no principal, none."""
    with acting_as(world.u.gina):
        assert rows("SELECT id FROM divisions_datascopechange") == [(changes["Field"].pk,)]
    with acting_as(world.u.alice):
        assert rows("SELECT id FROM divisions_datascopechange") == [(changes["Head Office"].pk,)]
    assert rows("SELECT count(*) FROM divisions_datascopechange") == [(0,)]


def test_a_member_cannot_rewrite_or_erase_history(world, changes):
    """An injection as alice rewrites or deletes Head Office's recorded change: no row is
    reachable (proone_update and proone_delete: the tenant's admins and the scope's
    managers)."""
    with acting_as(world.u.alice):
        assert rows("UPDATE divisions_datascopechange SET changed_by_name = 'nobody'") == 0
        assert rows("DELETE FROM divisions_datascopechange") == 0
    with unscoped("test check"):
        assert DataScopeChange.objects.get(pk=changes["Head Office"].pk).changed_by_name == (
            "an admin"
        )


def test_an_admin_cannot_file_a_change_under_another_tenants_scope(world):
    """Acme's admin plants a change in Acme's history naming Globex's Field scope (a record
    that points across tenants): refused, on one server by the key scopechange_scope_same_tenant,
    on a Citus cluster by proone_insert (the admin's scopes, sealed when the principal
    entered)."""
    field = world.d.field
    with (
        acting_as(world.u.acme_admin),
        pytest.raises(DatabaseError, match="row-level security|scopechange_scope_same_tenant"),
        transaction.atomic(),
    ):
        rows(INSERT, [world.tenants.acme.pk, field.data_scope_id, "acme-admin"])


def test_a_manager_rewrites_and_erases_only_their_own_scopes_changes(world, changes):
    """Elle manages Plumbing's scope: an injection as her rewrites every recorded change and
    reaches Plumbing's alone, cannot move it under Head Office's scope (proone_update's check),
    and deletes Plumbing's alone (proone_update and proone_delete: the scopes she manages)."""
    make_manager(world.u.elle, world.d.plumbing)
    with unscoped("test setup"):
        plumbing = DataScopeChange.objects.create(
            tenant_id=world.tenants.acme.pk,
            datascope_id=world.d.plumbing.data_scope_id,
            changed_by_name="an admin",
            before={},
            after={},
        )
    with acting_as(world.u.elle):
        assert rows("UPDATE divisions_datascopechange SET changed_by_name = 'elle'") == 1
        refused(
            "UPDATE divisions_datascopechange SET datascope_id = %s WHERE id = %s",
            [world.d.hq.data_scope_id, plumbing.pk],
        )
        assert rows("DELETE FROM divisions_datascopechange") == 1
    with unscoped("test check"):
        assert set(DataScopeChange.objects.values_list("pk", flat=True)) == {
            change.pk for change in changes.values()
        }
