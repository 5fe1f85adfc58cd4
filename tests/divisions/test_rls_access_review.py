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
    "VALUES (%s, %s, %s, now() + %s::interval, '{}') RETURNING id"
)


def insert(tenant, user, name=None, shift="0"):
    """The INSERT's parameters: a review of `tenant` by `user`, named `name` (the user's
    username), dated now + `shift`."""
    return [tenant.pk, user.pk, user.username if name is None else name, shift]


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
    acme = world.tenants.acme
    with acting_as(world.u.alice):
        refused(INSERT, insert(acme, world.u.alice))
        refused(INSERT, insert(acme, world.u.acme_admin))


def test_a_division_manager_cannot_plant_a_review(world):
    """A division manager's injection: the manager may change one scope, not attest the
    tenant's access (proone_insert: tenant admins only)."""
    make_manager(world.u.elle, world.d.plumbing)
    with acting_as(world.u.elle):
        refused(INSERT, insert(world.tenants.acme, world.u.elle))


def test_a_tenant_admin_reviews_only_in_their_own_name_and_tenant(world):
    """Acme's admin records a review in another user's name (its id, or only the name shown),
    in Globex, or dated a year ahead so that the index never calls a review due: refused by
    proone_insert (reviewed_by_id and reviewed_by_name are the principal's, the tenant is the
    principal's, reviewed_at is now)."""
    acme, admin = world.tenants.acme, world.u.acme_admin
    with acting_as(admin):
        refused(INSERT, insert(acme, world.u.alice))
        refused(INSERT, insert(acme, admin, name="alice"))
        refused(INSERT, insert(world.tenants.globex, admin))
        refused(INSERT, insert(acme, admin, shift="1 year"))
        refused(INSERT, insert(acme, admin, shift="-1 year"))
        with transaction.atomic():
            assert len(rows(INSERT, insert(acme, admin))) == 1
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


def test_reviews_are_read_by_their_tenants_admins_only(world, reviews):
    """An injection as a member reads the reviews table, whose matrix counts the jobs of every
    division, and as Globex's admin reads Acme's: neither is there (proone_read: the acting
    tenant's admins)."""
    for member in (world.u.gina, world.u.alice):
        with acting_as(member):
            assert rows("SELECT id FROM divisions_accessreview") == []
    with acting_as(world.u.globex_admin):
        assert rows("SELECT id FROM divisions_accessreview") == [(reviews["globex"].pk,)]
    assert rows("SELECT count(*) FROM divisions_accessreview") == [(0,)]  # no principal
