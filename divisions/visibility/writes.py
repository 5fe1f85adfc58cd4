"""Who may write a job: change its status, or place it in a tenant and division."""

from django.db.models import QuerySet

from ..models import Division
from ..scoping import is_principal
from .cases import is_tenant_admin
from .visible_divisions import divisions_with_visible_jobs


def may_change_status(user, job):
    """True when `user` may change `job`'s status: a tenant admin of its tenant, or a member of
    the division that owns it."""
    if not is_principal(user) or job.tenant_id != user.tenant_id:
        return False
    if is_tenant_admin(user):
        return True
    return job.division_id is not None and job.division_id == user.division_id


def may_place_job(user, tenant_id, division_id):
    """True when `user` may write a job with this tenant and division (it stays visible)."""
    if not is_principal(user) or tenant_id != user.tenant_id:
        return False
    if is_tenant_admin(user):
        return True
    if division_id is None:
        return False
    return (
        QuerySet(Division).filter(pk=division_id, pk__in=divisions_with_visible_jobs(user)).exists()
    )
