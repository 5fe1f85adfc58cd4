"""
The visibility rule as plain Python, written from the SPEC, to check the ORM and the database.

It reads a snapshot of the world (plain tuples), never the scoped managers it checks.
"""

from dataclasses import dataclass, field

from django.db.models import QuerySet

from divisions.models import DataScopeDivision, Division, User
from divisions.scoping import unscoped
from jobs.models import Job, JobNote


@dataclass(frozen=True)
class World:
    divisions: dict  # id -> (tenant_id, is_everyone, frozenset of listed division ids)
    jobs: dict  # id -> (tenant_id, division_id or None)
    notes: dict = field(default_factory=dict)  # id -> job id


def snapshot():
    """Read the whole world straight from the tables (as system work: on PostgreSQL the
    database itself would otherwise hide rows)."""
    with unscoped("oracle snapshot"):
        return _read_world()


def _read_world():
    listed = {}
    for scope_id, division_id in QuerySet(DataScopeDivision).values_list(
        "datascope_id", "division_id"
    ):
        listed.setdefault(scope_id, set()).add(division_id)
    divisions = {
        pk: (tenant_id, is_everyone, frozenset(listed.get(scope_id, ())))
        for pk, tenant_id, scope_id, is_everyone in QuerySet(Division).values_list(
            "pk", "tenant_id", "data_scope_id", "data_scope__is_everyone"
        )
    }
    jobs = {
        pk: (tenant_id, division_id)
        for pk, tenant_id, division_id in QuerySet(Job).values_list(
            "pk", "tenant_id", "division_id"
        )
    }
    notes = dict(QuerySet(JobNote).values_list("pk", "job_id"))
    return World(divisions, jobs, notes)


def is_principal(user):
    """SPEC: authenticated, active and in a tenant; nobody else sees anything."""
    return (
        user is not None and user.is_authenticated and user.is_active and user.tenant_id is not None
    )


def is_tenant_admin(user):
    """SPEC rule 1's role: is_tenant_admin and is_staff (for a principal)."""
    return user.is_tenant_admin and user.is_staff


def may_see_division_jobs(world, user, division_id):
    """SPEC rule 2 for a division D, or rule 1, for a principal of D's tenant."""
    if not is_principal(user):
        return False
    tenant_id, is_everyone, listed = world.divisions[division_id]
    if tenant_id != user.tenant_id:
        return False
    if is_tenant_admin(user):
        return True
    return division_id == user.division_id or is_everyone or user.division_id in listed


def may_see(world, user, job_id):
    """User U may see job J: the SPEC's visibility rule, word for word."""
    if not is_principal(user):
        return False
    tenant_id, division_id = world.jobs[job_id]
    if tenant_id != user.tenant_id:
        return False
    if is_tenant_admin(user):
        return True
    if division_id is None:
        return False
    return may_see_division_jobs(world, user, division_id)


def visible_notes(world, user):
    """A note is visible exactly when its job is."""
    return {pk for pk, job_id in world.notes.items() if may_see(world, user, job_id)}


def readable_divisions(world, user):
    """The division rows (not their jobs) `user` may read: every division of their tenant."""
    if not is_principal(user):
        return set()
    return {pk for pk, (tenant_id, _, _) in world.divisions.items() if tenant_id == user.tenant_id}


def visible_jobs(world, user):
    return {job_id for job_id in world.jobs if may_see(world, user, job_id)}


def pickable_divisions(world, user):
    return {d for d in world.divisions if may_see_division_jobs(world, user, d)}


def all_users():
    return list(QuerySet(User).order_by("pk"))
