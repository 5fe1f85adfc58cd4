"""
The visibility rule, stated once for the ORM.

User U may see job J if and only if U is active, U has a tenant, J's tenant is U's tenant, and
U is a tenant admin, or J has a division D and one of: D is U's division; D's DataScope
`is_everyone`; U's division is in D's DataScope `divisions`.

Everything here reads only the user's own columns (tenant_id, division_id, flags) and builds
a filter the database evaluates in the same statement, so a scoped query is one round trip.
"""

from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    Lookup,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from .managers import NOTHING
from .models import DataScopeDivision, Division
from .scoping import is_principal


class InSubqueryArray(Lookup):
    """`column IN (subquery)`, written `column = ANY(ARRAY(subquery))` on PostgreSQL.

    Why: PostgreSQL cannot estimate how many divisions the rule's subquery returns (an OR of
    three conditions over small tables), guesses "most of the tenant", and then walks a whole
    tenant's jobs to count those of one division: 19 ms instead of 2 ms at a million jobs.
    As an array it runs the subquery once first (an InitPlan) and then picks the division
    index or the tenant index by the real list. Same rows either way (docs/benchmarks.md).
    """

    lookup_name = "in_subquery_array"
    prepare_rhs = False

    def get_prep_lookup(self):
        if isinstance(self.rhs, QuerySet):
            self.rhs = self.rhs.order_by()  # an array keeps an ORDER BY; IN would drop it
        return super().get_prep_lookup()

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if not rhs.startswith("("):
            rhs = f"({rhs})"
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]
        return f"{lhs} IN {rhs}", [*lhs_params, *rhs_params]


def is_tenant_admin(user):
    """True for a principal who administers their tenant (SPEC: is_tenant_admin and is_staff)."""
    return is_principal(user) and user.is_tenant_admin and user.is_staff


# The cases of the rule, named for people ("why you can see this job").
TENANT_ADMIN = "tenant admin"
OWN_DIVISION = "own division"
EVERYONE = "everyone"
LISTED = "listed"


def _division_cases(user, via=""):
    """Rule 2's cases for a division D of the user's tenant, as (case, condition on D); `via`
    is the path to D from the queried model ("division__" from a job)."""
    cases = []
    if user.division_id is not None:
        listed = QuerySet(DataScopeDivision).filter(
            datascope_id=OuterRef(f"{via}data_scope_id"), division_id=user.division_id
        )
        cases.append((OWN_DIVISION, Q(**{f"{via}pk": user.division_id})))
    cases.append((EVERYONE, Q(**{f"{via}data_scope__is_everyone": True})))
    if user.division_id is not None:
        cases.append((LISTED, Q(Exists(listed))))
    return cases


def divisions_with_visible_jobs(user):
    """Ids of the divisions whose jobs `user` may see, as a subquery (no round trip)."""
    divisions = QuerySet(Division)
    if not is_principal(user):
        return divisions.none().values("pk")
    in_tenant = divisions.filter(tenant_id=user.tenant_id)
    if is_tenant_admin(user):
        return in_tenant.values("pk")
    allowed = Q()
    for _, condition in _division_cases(user):
        allowed |= condition
    return in_tenant.filter(allowed).values("pk")


def why_visible_case(user):
    """Which case of the rule lets `user` see a job (TENANT_ADMIN, OWN_DIVISION, EVERYONE or
    LISTED, the first that applies, else None), as an annotation of a job query: the detail
    page learns it in the job's own statement."""
    if not is_principal(user):
        return Value(None, output_field=CharField())
    if is_tenant_admin(user):
        return Value(TENANT_ADMIN, output_field=CharField())
    whens = [
        When(Q(tenant_id=user.tenant_id) & condition, then=Value(case))
        for case, condition in _division_cases(user, via="division__")
    ]
    return Case(*whens, default=Value(None), output_field=CharField())


def may_change_status(user, job):
    """True when `user` may change `job`'s status: a tenant admin of its tenant, or a member of
    the division that owns it."""
    if not is_principal(user) or job.tenant_id != user.tenant_id:
        return False
    if is_tenant_admin(user):
        return True
    return job.division_id is not None and job.division_id == user.division_id


def job_filter(user):
    """The rule as a filter on a model with `tenant_id` and `division_id` columns (Job)."""
    if not is_principal(user):
        return NOTHING
    same_tenant = Q(tenant_id=user.tenant_id)
    if is_tenant_admin(user):
        return same_tenant
    return same_tenant & Q(InSubqueryArray(F("division_id"), divisions_with_visible_jobs(user)))


def division_choices(user):
    """The divisions whose jobs `user` may see: the choices of a division filter."""
    return Division.objects.visible_to(user).filter(pk__in=divisions_with_visible_jobs(user))


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
