"""The divisions whose jobs a user may see, as a subquery the database runs in the same
statement (no round trip)."""

from django.db.models import Q, QuerySet

from ..models import Division
from ..scoping import is_principal, is_tenant_admin
from .cases import division_cases


def member_divisions(tenant_id, division_id):
    """The divisions of tenant `tenant_id` whose jobs a member of `division_id` may see; each
    argument a value, or an OuterRef to the user row of the enclosing query."""
    allowed = Q()
    for _, condition in division_cases(division_id):
        allowed |= condition
    return QuerySet(Division).filter(tenant_id=tenant_id).filter(allowed)


def divisions_with_visible_jobs(user):
    """Ids of the divisions whose jobs `user` may see, as a subquery (no round trip)."""
    divisions = QuerySet(Division)
    if not is_principal(user):
        return divisions.none().values("pk")
    if is_tenant_admin(user):
        return divisions.filter(tenant_id=user.tenant_id).values("pk")
    return member_divisions(user.tenant_id, user.division_id).values("pk")
