"""
Explain, both ways: who sees a division's jobs and by which case of the rule; which case shows
a user each division whose jobs they see.

Both answers are the rule's own cases (cases.py) evaluated by the database, never restated, in
a number of queries that does not grow with the number of divisions or users.
"""

import operator
from dataclasses import dataclass
from functools import reduce

from django.db.models import CharField, Count, Exists, OuterRef, Q, QuerySet, Value

from ..models import Division, User
from ..scoping import is_principal, is_tenant_admin
from .cases import EVERYONE, LISTED, OWN_DIVISION, TENANT_ADMIN, division_cases
from .visible_divisions import divisions_with_visible_jobs
from .why import first_case

# The order the answers list the cases in: the order the rule tries them.
CASES = (TENANT_ADMIN, OWN_DIVISION, EVERYONE, LISTED)

# How many names of a group an answer lists; the group's count says how many there are.
NAMES_SHOWN = 20


@dataclass(frozen=True)
class CaseGroup:
    """The active users one case of the rule shows a job to: how many, and the first names."""

    case: str
    users: int
    names: tuple


def member_cases(tenant_id, division_id):
    """{member division id, or None for members of no division: the case of the rule that shows
    them division `division_id`'s jobs}, for the divisions of tenant `tenant_id` (one query).
    Members who do not see those jobs are absent; so is everyone when `division_id` is None."""
    if division_id is None:
        return {}
    target = QuerySet(Division).filter(pk=division_id, tenant_id=tenant_id)

    def case_for(member):
        return first_case(
            (case, Exists(target.filter(condition))) for case, condition in division_cases(member)
        )

    rows = (
        QuerySet(Division)
        .filter(tenant_id=tenant_id)
        .annotate(case=case_for(OuterRef("pk")), no_division_case=case_for(None))
        .values_list("pk", "case", "no_division_case")
    )
    cases = {}
    for pk, case, no_division_case in rows:
        cases[None] = no_division_case
        cases[pk] = case
    return {member: case for member, case in cases.items() if case is not None}


def audience_by_case(tenant_id, division_id):
    """The active users of tenant `tenant_id` who see a job of division `division_id` (None: a
    job of no division), grouped by the case of the rule that shows it to them, in CASES order.

    Users who share a division and the same flags see the same jobs for the same reason, so
    the rule is asked once per such group (with a stand-in, as divisions.audience does)."""
    users = QuerySet(User).filter(tenant_id=tenant_id, is_active=True)
    rows = (
        users.values("division_id", "is_tenant_admin", "is_staff")
        .annotate(users=Count("pk"))
        .order_by()
    )
    cases = member_cases(tenant_id, division_id)
    counts, groups = {}, {}
    for row in rows:
        flags = {key: row[key] for key in ("division_id", "is_tenant_admin", "is_staff")}
        stand_in = User(tenant_id=tenant_id, is_active=True, **flags)
        case = TENANT_ADMIN if is_tenant_admin(stand_in) else cases.get(row["division_id"])
        if case is None:
            continue
        counts[case] = counts.get(case, 0) + row["users"]
        groups.setdefault(case, []).append(Q(**flags))
    return [
        CaseGroup(case, counts[case], _names(users.filter(reduce(operator.or_, groups[case]))))
        for case in CASES
        if case in counts
    ]


def _names(users):
    return tuple(users.order_by("username").values_list("username", flat=True)[:NAMES_SHOWN])


def seen_divisions(user):
    """The divisions whose jobs `user` may see, by name, each annotated with `case`: the case of
    the rule that shows its jobs to them (one query)."""
    divisions = QuerySet(Division)
    if not is_principal(user):
        return divisions.none()
    if is_tenant_admin(user):
        case = Value(TENANT_ADMIN, output_field=CharField())
    else:
        case = first_case(division_cases(user.division_id))
    divisions = divisions.filter(pk__in=divisions_with_visible_jobs(user))
    return divisions.annotate(case=case).order_by("name", "pk")
