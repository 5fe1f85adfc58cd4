"""
The visibility rule and the write rule as plain Python, written from the SPEC, to check the
ORM and the database.

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


def case_of(world, user, division_id):
    """Which case of the rule shows `user` the jobs of division `division_id` (None: jobs of no
    division): the first of the SPEC's cases that applies, named as the detail page names it;
    None when none does."""
    if not is_principal(user):
        return None
    if division_id is None:
        return "tenant admin" if is_tenant_admin(user) else None
    if not may_see_division_jobs(world, user, division_id):
        return None
    _, is_everyone, _ = world.divisions[division_id]
    if is_tenant_admin(user):
        return "tenant admin"
    if division_id == user.division_id:
        return "own division"
    return "everyone" if is_everyone else "listed"


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


# The write rule (SPEC "The write rule"): seeing a row is not changing it.

# The job columns a member of the job's own division may change.
STATUS_COLUMNS = frozenset({"status", "updated_at"})


def may_change_columns(user, columns):
    """A tenant admin changes any column of their tenant's jobs; anyone else the status."""
    return (is_principal(user) and is_tenant_admin(user)) or set(columns) <= STATUS_COLUMNS


def may_write_job(world, user, job_id, columns):
    """User U may change `columns` of job J (delete J when None): U is a tenant admin of J's
    tenant, or changes only J's status as a member of J's own division."""
    if not is_principal(user):
        return False
    tenant_id, division_id = world.jobs[job_id]
    if tenant_id != user.tenant_id:
        return False
    if is_tenant_admin(user):
        return True
    return (
        columns is not None
        and set(columns) <= STATUS_COLUMNS
        and division_id is not None
        and division_id == user.division_id
    )


def writable_jobs(world, user, columns):
    return {job_id for job_id in world.jobs if may_write_job(world, user, job_id, columns)}


def may_add_note(world, user, job_id):
    """Whoever may see a job adds a note to it (in their own name)."""
    return may_see(world, user, job_id)


def may_delete_note(world, user, note_id):
    """Only a tenant admin deletes a note, of their tenant; a note is never edited."""
    if not is_principal(user) or not is_tenant_admin(user):
        return False
    return world.jobs[world.notes[note_id]][0] == user.tenant_id


def deletable_notes(world, user):
    return {pk for pk in world.notes if may_delete_note(world, user, pk)}


def all_users():
    return list(QuerySet(User).order_by("pk"))
