"""Property: on random worlds and random form values, the preview's gains and losses are what
the oracle says before and after such a save, and the preview keeps nothing."""

from dataclasses import replace

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divisions.models import DataScope, Division, User
from divisions.scoping import acting_as, unscoped
from tests import oracle
from tests.strategies import build, worlds


def sight_shift(world, after, users, division_id, tenant_id):
    """(users who gain sight of the division's jobs, users who lose it), by the oracle."""
    gained, lost = [], []
    for user in users:
        if not user.is_active or user.tenant_id != tenant_id:
            continue
        was = oracle.may_see_division_jobs(world, user, division_id)
        now = oracle.may_see_division_jobs(after, user, division_id)
        if now and not was:
            gained.append(user)
        if was and not now:
            lost.append(user)
    return gained, lost


def expected(users):
    names = sorted(
        QuerySet(Division)
        .filter(pk__in={u.division_id for u in users})
        .values_list("name", flat=True)
    )
    return {
        "divisions": names,
        "divisionless": any(u.division_id is None for u in users),
        "users": len(users),
    }


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(description=worlds(), data=st.data())
def test_preview_matches_the_oracle(db, description, data):
    scope_admin = admin.site._registry[DataScope]
    with unscoped("property test world"), transaction.atomic():
        users = build(description)
        tenant_id = QuerySet(Division).order_by("pk").values_list("tenant_id", flat=True)[0]
        tenant_admin = User.objects.create(
            username="the-admin", tenant_id=tenant_id, is_tenant_admin=True, is_staff=True
        )
        users = list(QuerySet(User).filter(pk__in=[u.pk for u in users]))
        world = oracle.snapshot()
        try:
            ours = sorted(pk for pk, row in world.divisions.items() if row[0] == tenant_id)
            division_id = data.draw(st.sampled_from(ours), label="division")
            others = [pk for pk in ours if pk != division_id]
            is_everyone = data.draw(st.booleans(), label="everyone")
            pick = st.lists(st.sampled_from(others), unique=True) if others else st.just([])
            listed = data.draw(pick, label="listed")
            after = replace(
                world,
                divisions={
                    **world.divisions,
                    division_id: (tenant_id, is_everyone, frozenset(listed)),
                },
            )
            gained, lost = sight_shift(world, after, users, division_id, tenant_id)
            jobs = sum(1 for _, d in world.jobs.values() if d == division_id)
            with acting_as(tenant_admin):
                scope = DataScope.objects.get(target_division__pk=division_id)
                divisions = list(Division.objects.filter(pk__in=listed))
                answer = scope_admin.scope_preview(scope, is_everyone, divisions).as_json()
            assert answer["gained"] == expected(gained)
            assert answer["lost"] == expected(lost)
            assert answer["jobs"] == (jobs if gained or lost else None)
            assert oracle.snapshot() == world
        finally:
            transaction.set_rollback(True)
