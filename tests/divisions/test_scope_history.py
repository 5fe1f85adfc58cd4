"""The DataScope history: every change is recorded by the database, whoever makes it and
however (the admin, the ORM, raw SQL), with who and when; the admin page shows it."""

import pytest
from django.core.management.color import no_style
from django.core.management.sql import sql_flush
from django.db import connection, transaction
from django.urls import reverse
from guardian.shortcuts import assign_perm

from divisions.models import DataScope, DataScopeDivision, DataScopeEvent, User
from divisions.scoping import OutOfScope, acting_as, unscoped
from tests.admin_forms import loaded_as
from tests.factories import DivisionFactory, allow


def history(division):
    """(what, division name, actor name) of the division's scope's events, oldest first."""
    with unscoped("test check"):
        events = DataScopeEvent.objects.filter(datascope_id=division.data_scope_id)
        return [(e.what, e.division_name, e.actor_name) for e in events.order_by("pk")]


def forget(world):
    """Start from an empty history (the world's setup is recorded as system work)."""
    with unscoped("test setup"), connection.cursor() as cursor:
        cursor.execute("DELETE FROM divisions_datascopeevent")


def scope_url(division):
    return reverse("admin:divisions_datascope_change", args=[division.data_scope_id])


class TestRecorded:
    def test_the_worlds_setup_is_recorded_as_system_work(self, world):
        # The setup lists a scope's divisions in no set order.
        assert sorted(history(world.d.electrical)) == [
            ("added", "Head Office", ""),
            ("added", "Sparks", ""),
        ]
        assert history(world.d.plumbing) == [("everyone_on", "", "")]
        with unscoped("test check"):
            assert DataScopeEvent.objects.filter(actor_id__isnull=False).count() == 0

    def test_orm_changes_name_the_acting_user(self, world):
        forget(world)
        with acting_as(world.u.acme_admin):
            scope = DataScope.objects.get(pk=world.d.electrical.data_scope_id)
            scope.set_divisions([world.d.hq, world.d.plumbing])
            scope.is_everyone = True
            scope.save()
            DataScope.objects.filter(pk=scope.pk).update(is_everyone=False)
        assert history(world.d.electrical) == [
            ("removed", "Sparks", "acme-admin"),
            ("added", "Plumbing", "acme-admin"),
            ("everyone_on", "", "acme-admin"),
            ("everyone_off", "", "acme-admin"),
        ]
        with unscoped("test check"):
            event = DataScopeEvent.objects.filter(datascope_id=scope.pk).first()
        assert event.actor_id == world.u.acme_admin.pk
        assert event.tenant_id == world.tenants.acme.pk
        assert event.recorded_at is not None

    def test_a_save_that_changes_nothing_records_nothing(self, world):
        forget(world)
        with acting_as(world.u.acme_admin):
            scope = DataScope.objects.get(pk=world.d.electrical.data_scope_id)
            scope.save()
            scope.set_divisions([world.d.hq, world.d.sparks])
        assert history(world.d.electrical) == []

    def test_raw_sql_is_recorded_too(self, world):
        forget(world)
        with acting_as(world.u.acme_admin), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM divisions_datascopedivision "
                "WHERE datascope_id = %s AND division_id = %s",
                [world.d.electrical.data_scope_id, world.d.sparks.pk],
            )
            cursor.execute(
                "UPDATE divisions_datascope SET is_everyone = %s WHERE id = %s",
                [True, world.d.hq.data_scope_id],
            )
        assert history(world.d.electrical) == [("removed", "Sparks", "acme-admin")]
        assert history(world.d.hq) == [("everyone_on", "", "acme-admin")]

    def test_a_deleted_division_leaves_its_removal_in_the_lists_that_named_it(self, world):
        with unscoped("test setup"):
            welding = DivisionFactory(tenant=world.tenants.acme, name="Welding")
            world.d.electrical.data_scope.divisions.add(
                welding, through_defaults={"tenant_id": world.tenants.acme.pk}
            )
        forget(world)
        with acting_as(world.u.acme_admin):
            welding.delete()
        assert history(world.d.electrical) == [("removed", "Welding", "acme-admin")]

    def test_the_app_never_writes_an_event(self, world):
        with unscoped("test check"):
            event = DataScopeEvent.objects.first()
            with pytest.raises(OutOfScope):
                event.save()
            with pytest.raises(OutOfScope):
                event.delete()


class TestAdminPage:
    def test_a_change_saved_in_the_admin_is_shown_with_who_and_when(self, client, world):
        forget(world)
        client.force_login(world.u.acme_admin)
        url = scope_url(world.d.electrical)
        data = {"listed_divisions": [world.d.hq.pk, world.d.plumbing.pk], **loaded_as(client, url)}
        assert client.post(url, data).status_code == 302
        assert history(world.d.electrical) == [
            ("removed", "Sparks", "acme-admin"),
            ("added", "Plumbing", "acme-admin"),
        ]
        page = client.get(url).content.decode()
        table = page[page.index("scope-events") :]
        assert "Plumbing added" in table and "Sparks removed" in table
        assert table.index("Plumbing added") < table.index("Sparks removed")  # newest first
        assert "acme-admin" in table

    def test_system_work_is_shown_as_system(self, client, world):
        client.force_login(world.u.acme_admin)
        page = client.get(scope_url(world.d.plumbing)).content.decode()
        table = page[page.index("scope-events") :]
        assert "Everyone switched on" in table and "system" in table

    def test_the_page_shows_a_bounded_history(self, client, world):
        forget(world)
        with acting_as(world.u.acme_admin):
            scope = DataScope.objects.get(pk=world.d.hq.data_scope_id)
            for _ in range(30):
                DataScope.objects.filter(pk=scope.pk).update(is_everyone=True)
                DataScope.objects.filter(pk=scope.pk).update(is_everyone=False)
        client.force_login(world.u.acme_admin)
        page = client.get(scope_url(world.d.hq)).content.decode()
        table = page[page.index("scope-events") :]
        assert table.count("<tr>") - 1 == 50
        assert "Showing the 50 newest of 60." in page

    def test_another_tenants_scope_and_its_history_are_not_found(self, client, world):
        client.force_login(world.u.globex_admin)
        assert client.get(scope_url(world.d.electrical)).status_code == 404


def test_a_division_list_row_moved_is_a_removal_and_an_addition(world):
    forget(world)
    with acting_as(world.u.acme_admin):
        DataScopeDivision.objects.filter(
            datascope_id=world.d.electrical.data_scope_id, division=world.d.sparks
        ).update(division=world.d.plumbing)
    assert history(world.d.electrical) == [
        ("removed", "Sparks", "acme-admin"),
        ("added", "Plumbing", "acme-admin"),
    ]


class TestSinceTheLastReview:
    MATRIX = reverse("admin:divisions_access_matrix")
    REVIEW = reverse("admin:divisions_access_review")

    def changes(self, client):
        response = client.get(self.MATRIX)
        return [
            (division, change, event.actor_name)
            for event, division, change in response.context["scope_changes"]
        ]

    def test_the_review_page_lists_the_changes_since_the_last_review(self, client, world):
        forget(world)
        client.force_login(world.u.acme_admin)
        with acting_as(world.u.acme_admin):
            DataScope.objects.filter(pk=world.d.hq.data_scope_id).update(is_everyone=True)
        with acting_as(world.u.globex_admin):
            DataScope.objects.filter(pk=world.d.ops.data_scope_id).update(is_everyone=True)
        assert self.changes(client) == [("Head Office", "Everyone switched on", "acme-admin")]
        fingerprint = client.get(self.MATRIX).context["fingerprint"]
        assert client.post(self.REVIEW, {"fingerprint": fingerprint}).status_code == 302
        assert self.changes(client) == []
        assert b"DataScope changes since the last review" in client.get(self.MATRIX).content
        with acting_as(world.u.acme_admin):
            scope = DataScope.objects.get(pk=world.d.electrical.data_scope_id)
            scope.set_divisions([world.d.hq])
        assert self.changes(client) == [("Electrical", "Sparks removed", "acme-admin")]
        page = client.get(self.MATRIX).content.decode()
        assert "<td>Electrical</td><td>Sparks removed</td>" in page

    def test_a_division_manager_gets_no_list_of_the_tenants_changes(self, client, world):
        with unscoped("test setup"):
            assign_perm("divisions.change_datascope", world.u.elle, world.d.electrical.data_scope)
            User.objects.filter(pk=world.u.elle.pk).update(is_staff=True)
        client.force_login(world.u.elle)
        response = client.get(self.MATRIX)
        assert response.status_code == 200
        assert "scope_changes" not in response.context


def test_a_deleted_tenant_takes_its_history_along(world):
    """Deleting a tenant (platform work) cascades to its scope lists, whose removals the
    triggers record as it goes; the tenant's own trigger then removes all of it."""
    allow(world.d.ops, world.d.field)
    with unscoped("test: a platform operator deletes a tenant"):
        world.tenants.globex.delete()
        remaining = set(DataScopeEvent.objects.values_list("tenant_id", flat=True))
    assert remaining == {world.tenants.acme.pk}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["divisions_tenant", "divisions_datascopeevent"])
def test_a_flush_in_any_table_order_leaves_no_history_and_commits(world, first):
    """A flush (the test runner's, `manage.py flush`) deletes table by table in no set order,
    its foreign keys checked at commit. Whether the tenants or the history go first, before the
    scope lists, no event is left pointing at a deleted tenant (SQLite's triggers; on
    PostgreSQL a flush truncates, which fires no row trigger)."""
    allow(world.d.ops, world.d.field)
    statements = sql_flush(no_style(), connection)
    if connection.vendor != "sqlite":
        pytest.skip("needs SQLite: PostgreSQL's flush truncates, and no row trigger fires")
    ordered = sorted(statements, key=lambda sql: (first not in sql, "datascopedivision" in sql))
    with unscoped("test: a flush"), transaction.atomic(), connection.cursor() as cursor:
        for sql in ordered:
            cursor.execute(sql)
    with unscoped("test check"):
        assert DataScopeEvent.objects.count() == 0


def test_a_member_writes_no_history_through_the_orm(world):
    """The ORM is SQLite's only guard: alice, as a member, rewrites the events' actor, deletes
    them, or plants one dated ahead: none reaches a row (RecordManager: the database alone
    writes the history)."""
    allow(world.d.ops, world.d.field)
    with unscoped("test: how many events there are"):
        recorded = DataScopeEvent.objects.count()
    assert recorded > 0
    with acting_as(world.u.alice):
        assert DataScopeEvent.objects.update(actor_name="alice") == 0
        assert DataScopeEvent.objects.all().delete()[0] == 0
        with pytest.raises(OutOfScope):
            DataScopeEvent.objects.bulk_create(
                [DataScopeEvent(tenant=world.tenants.acme, datascope_id=1, what="added")]
            )
    with unscoped("test check"):
        assert DataScopeEvent.objects.count() == recorded
        assert not DataScopeEvent.objects.filter(actor_name="alice").exists()
