"""Which case of the visibility rule shows a job to a user, for the detail page's one line."""

from django.db.models import Case, CharField, F, Q, Value, When

from ..lookups import InArray
from ..scoping import is_principal, is_tenant_admin
from .cases import EVERYONE, LISTED, OWN_DIVISION, TENANT_ADMIN, division_cases
from .loaded_divisions import loaded


def first_case(cases):
    """The first of (case, condition) pairs that applies, as a CASE expression (None: none)."""
    whens = [When(condition, then=Value(case)) for case, condition in cases]
    return Case(*whens, default=Value(None), output_field=CharField())


def why_visible_case(user):
    """Which case of the rule lets `user` see a job (TENANT_ADMIN, OWN_DIVISION, EVERYONE or
    LISTED, the first that applies, else None), as an annotation of a job query: the detail
    page learns it in the job's own statement."""
    if not is_principal(user):
        return Value(None, output_field=CharField())
    if is_tenant_admin(user):
        return Value(TENANT_ADMIN, output_field=CharField())
    same_tenant = Q(tenant_id=user.tenant_id)
    brought = loaded(user)
    if brought is not None and brought.cases:  # as job_filter: an empty list is not used
        # The case each division's row brought: a test of the job's own division column,
        # with no join to its division and scope (the rule's case worked out once, with the
        # user row). Cheaper to build and to plan: about 1 ms of a detail page
        # (docs/benchmarks.md).
        by_case = {}
        for pk, case in brought.cases:
            by_case.setdefault(case, []).append(pk)
        return first_case(
            (case, same_tenant & Q(InArray(F("division_id"), by_case[case])))
            for case in (OWN_DIVISION, EVERYONE, LISTED)
            if case in by_case
        )
    return first_case(
        (case, same_tenant & condition)
        for case, condition in division_cases(user.division_id, via="division__")
    )
