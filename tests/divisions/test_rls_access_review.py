"""PostgreSQL: raw SQL as the app role, inside a principal, against the recorded access
reviews. Each test names the attack and the policy that stops it."""

import pytest
from django.db import DatabaseError, connection, transaction

from divisions.models import AccessReview
from divisions.scoping import acting_as, unscoped
from tests.divisions.test_admin_scope import make_manager

pytestmark = pytest.mark.postgres

INSERT = (
    "INSERT INTO divisions_accessreview "
    "(tenant_id, reviewed_by_id, reviewed_by_name, reviewed_at, matrix) "
    "VALUES (%s, %s, 'planted', now(), '{}') RETURNING id"
)


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def refused(sql, params):
    with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        rows(sql, params)


@pytest.fixture
def reviews(world):
    with unscoped("test setup"):
        return {
            name: AccessReview.objects.create(
                tenant=getattr(world.tenants, name),
                reviewed_by=admin,
                reviewed_by_name=admin.username,
                matrix={"cells": []},
            )
            for name, admin in (("acme", world.u.acme_admin), ("globex", world.u.globex_admin))
        }


def test_a_member_cannot_plant_a_review(world):
    """SQL injection as alice: a review in her own name, or her admin's, would tell the index
    that access was reviewed: proone_insert admits tenant admins only."""
    acme = world.tenants.acme.pk
    with acting_as(world.u.alice):
        refused(INSERT, [acme, world.u.alice.pk])
        refused(INSERT, [acme, world.u.acme_admin.pk])


def test_a_division_manager_cannot_plant_a_review(world):
    """A division manager's injection: the manager may change one scope, not attest the
    tenant's access (proone_insert: tenant admins only)."""
    make_manager(world.u.elle, world.d.plumbing)
    with acting_as(world.u.elle):
        refused(INSERT, [world.tenants.acme.pk, world.u.elle.pk])


def test_a_tenant_admin_reviews_only_in_their_own_name_and_tenant(world):
    """Acme's admin records a review in another user's name, or in Globex: refused by
    proone_insert (reviewed_by_id is the principal; the tenant is the principal's)."""
    with acting_as(world.u.acme_admin):
        refused(INSERT, [world.tenants.acme.pk, world.u.alice.pk])
        refused(INSERT, [world.tenants.globex.pk, world.u.acme_admin.pk])
        with transaction.atomic():
            assert len(rows(INSERT, [world.tenants.acme.pk, world.u.acme_admin.pk])) == 1
            transaction.set_rollback(True)


def test_nobody_rewrites_or_erases_a_review(world, reviews):
    """An injection as the tenant admin back-dates, rewrites or deletes the tenant's review:
    no row is reachable (proone_update and proone_delete: system work only)."""
    with acting_as(world.u.acme_admin):
        assert rows("UPDATE divisions_accessreview SET reviewed_at = now() - interval '1 day'") == 0
        assert rows("UPDATE divisions_accessreview SET matrix = '{}'") == 0
        assert rows("DELETE FROM divisions_accessreview") == 0
    with unscoped("test check"):
        assert AccessReview.objects.get(pk=reviews["acme"].pk).matrix == {"cells": []}


def test_reviews_are_read_in_their_tenant_only(world, reviews):
    """An injection as a Globex user reads the reviews table: Acme's review, which keeps
    Acme's whole matrix, is not there (proone_read: the acting tenant's rows)."""
    with acting_as(world.u.gina):
        assert rows("SELECT id FROM divisions_accessreview") == [(reviews["globex"].pk,)]
    assert rows("SELECT count(*) FROM divisions_accessreview") == [(0,)]  # no principal
