"""Property: on random worlds, the access matrix says what the oracle says, pair by pair."""

from django.db import transaction
from hypothesis import HealthCheck, given, settings

from divisions.models import Tenant, User
from divisions.scoping import acting_as, unscoped
from divisions.visibility.cases import EVERYONE, LISTED, OWN_DIVISION
from divisions.visibility.matrix import access_matrix
from jobs.access_matrix import job_counts
from tests import oracle
from tests.strategies import build, worlds


def expected_case(world, row_id, column_id):
    """The oracle's answer for a member of division `row_id` (None: a user of no division of
    the column's tenant) and the jobs of `column_id`, named by the first case that holds (the
    order the matrix promises)."""
    tenant_id = world.divisions[column_id if row_id is None else row_id][0]
    member = User(tenant_id=tenant_id, division_id=row_id, is_active=True)
    if not oracle.may_see_division_jobs(world, member, column_id):
        return None
    _, is_everyone, listed = world.divisions[column_id]
    if column_id == row_id:
        return OWN_DIVISION
    return EVERYONE if is_everyone else LISTED if row_id in listed else "the oracle disagrees"


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(description=worlds())
def test_the_matrix_matches_the_oracle(db, description):
    with unscoped("property test world"), transaction.atomic():
        users = build(description)
        tenants = list(Tenant.objects.all())
        # A tenant admin per tenant, without a division (no row counts them), to act as.
        admins = [
            User.objects.create(
                username=f"admin-{tenant.pk}", tenant=tenant, is_tenant_admin=True, is_staff=True
            )
            for tenant in tenants
        ]
        world = oracle.snapshot()
        try:
            for tenant, admin in zip(tenants, admins, strict=True):
                with acting_as(admin):
                    matrix = access_matrix(tenant.pk, column_counts=job_counts(admin))
                ids = sorted(pk for pk, row in world.divisions.items() if row[0] == tenant.pk)
                *division_rows, no_division = matrix.rows
                assert sorted(row.id for row in division_rows) == ids
                assert no_division.id is None  # the users of no division, last
                assert sorted(column.id for column in matrix.columns) == ids
                for row in matrix.rows:
                    members = [
                        u
                        for u in [*users, admin]
                        if u.tenant_id == tenant.pk and u.division_id == row.id and u.is_active
                    ]
                    assert row.counts == {"users": len(members)}
                    for column in matrix.columns:
                        assert matrix.case(row, column) == expected_case(world, row.id, column.id)
                for column in matrix.columns:
                    jobs = [pk for pk, (_, division) in world.jobs.items() if division == column.id]
                    assert column.counts == {"jobs": len(jobs)}
        finally:
            transaction.set_rollback(True)
