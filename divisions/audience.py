"""
The effect of the DataScopes, for the admin: who sees a division's jobs, whose jobs a user sees.

Both answers come from the rule in divisions.visibility; nothing here restates it. Users who
share a tenant, a division and the same flags see the same jobs, so the users are counted by
such group, and which members' divisions see the division is asked of the rule's cases for
every division at once (visibility.explain's member_cases): three queries, whatever the
number of divisions or users.
"""

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from .models import Division, User
from .scoping import is_tenant_admin
from .visibility.explain import member_cases
from .visibility.visible_divisions import divisions_with_visible_jobs


@dataclass(frozen=True)
class AudienceGroup:
    """Users who see a division's jobs for the same reason: their division, or their role."""

    division: Division | None
    is_tenant_admin: bool
    users: int


def audience_of(division):
    """The groups of active users of the division's tenant who may see the division's jobs."""
    users = (
        QuerySet(User)
        .filter(tenant_id=division.tenant_id, is_active=True)
        .values("division_id", "is_tenant_admin", "is_staff")
        .annotate(users=Count("pk"))
        .order_by()
    )
    # {member division id (None: of none): the case that shows them the division's jobs}.
    seeing = member_cases(division.tenant_id, division.pk)
    groups = {}
    for row in users:
        # A stand-in with the group's columns: the rule reads nothing else of a user.
        stand_in = User(
            tenant_id=division.tenant_id,
            division_id=row["division_id"],
            is_tenant_admin=row["is_tenant_admin"],
            is_staff=row["is_staff"],
            is_active=True,
        )
        is_admin = is_tenant_admin(stand_in)
        if not is_admin and row["division_id"] not in seeing:
            continue
        key = (None if is_admin else row["division_id"], is_admin)
        groups[key] = groups.get(key, 0) + row["users"]
    divisions = QuerySet(Division).in_bulk(
        {division_id for division_id, _ in groups if division_id is not None}
    )
    return sorted(
        (
            AudienceGroup(divisions.get(division_id), is_admin, count)
            for (division_id, is_admin), count in groups.items()
        ),
        key=lambda group: (group.is_tenant_admin, group.division is None, str(group.division)),
    )


def divisions_seen_by(user):
    """The divisions whose jobs `user` may see, by name."""
    divisions = QuerySet(Division).filter(pk__in=divisions_with_visible_jobs(user))
    return list(divisions.order_by("name", "pk"))
