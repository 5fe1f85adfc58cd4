"""
The write rule (SPEC "The write rule") for the ORM, separate from the visibility rule.

- Jobs: tenant admins create, edit and delete their tenant's jobs. Members of a job's own
  division change its status (and `updated_at`), nothing else. Nobody else writes a job.
- Notes: whoever may see a job adds a note, in their own name. A note is never edited (a
  tenant admin only clears the author of a user being deleted); only a tenant admin deletes one.

A scoped update() or delete() is narrowed by these filters in its own statement: rows the
principal may not write are as if absent. Columns the principal may not change raise
OutOfScope. divisions/database/policies.sql states the same rule for PostgreSQL.
"""

from django.db.models import Q

from ..managers import NOTHING
from ..scoping import OutOfScope, is_principal, is_tenant_admin

# The columns a member of a job's own division may change.
STATUS_COLUMNS = frozenset({"status", "updated_at"})

MEMBERS_CHANGE_STATUS = "Members of a job's division change only its status."
NOTES_ARE_KEPT = "A note is never edited."


def may_change_columns(user, columns):
    """True when `user` may change these job columns (attnames) of some job."""
    return is_tenant_admin(user) or set(columns) <= STATUS_COLUMNS


def job_write_filter(user, values):
    """The jobs `user` may update with `values` ({attname: value}), or delete when None;
    raises OutOfScope when `user` may change none of these columns anywhere."""
    if not is_principal(user):
        return NOTHING
    if is_tenant_admin(user):
        return Q(tenant_id=user.tenant_id)
    if values is None:
        return NOTHING
    if not may_change_columns(user, values):
        raise OutOfScope(MEMBERS_CHANGE_STATUS)
    if user.division_id is None:
        return NOTHING
    return Q(tenant_id=user.tenant_id, division_id=user.division_id)


def note_write_filter(user, values):
    """The notes `user` may delete (`values` None), or update with `values`: only clearing
    the author, for a tenant admin; any other change raises OutOfScope."""
    if values is not None and (set(values) != {"author_id"} or values["author_id"] is not None):
        raise OutOfScope(NOTES_ARE_KEPT)
    if not is_tenant_admin(user):
        return NOTHING
    return Q(tenant_id=user.tenant_id)


def may_change_status(user, job):
    """True when `user` may change `job`'s status: a tenant admin of its tenant, or a member of
    the division that owns it."""
    if not is_principal(user) or job.tenant_id != user.tenant_id:
        return False
    if is_tenant_admin(user):
        return True
    return job.division_id is not None and job.division_id == user.division_id


def may_place_job(user, tenant_id):
    """True when `user` may create a job in this tenant, or move one there: its tenant admin.
    (The division must be of the same tenant: Job.clean and the database check that.)"""
    return is_tenant_admin(user) and tenant_id == user.tenant_id
