"""The visibility rule as the filter of every scoped job query: one statement, no round trip."""

from django.db.models import F, Q

from ..lookups import InArray, InSubqueryArray
from ..managers import NOTHING
from ..scoping import is_principal, is_tenant_admin
from .loaded_divisions import loaded_divisions
from .visible_divisions import divisions_with_visible_jobs


def job_filter(user):
    """The rule as a filter on a model with `tenant_id` and `division_id` columns (Job)."""
    if not is_principal(user):
        return NOTHING
    same_tenant = Q(tenant_id=user.tenant_id)
    if is_tenant_admin(user):
        return same_tenant
    loaded = loaded_divisions(user)
    if loaded:
        return same_tenant & Q(InArray(F("division_id"), [pk for pk, _ in loaded]))
    # No list, or an empty one: an empty IN () would empty a whole query it is joined into
    # (a division annotated with a count of its jobs), where the subquery matches no job.
    return same_tenant & Q(InSubqueryArray(F("division_id"), divisions_with_visible_jobs(user)))
