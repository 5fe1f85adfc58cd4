"""
The visibility rule, stated once for the ORM.

User U may see job J if and only if U is active, U has a tenant, J's tenant is U's tenant, and
U is a tenant admin, or J has a division D and one of: D is U's division; D's DataScope
`is_everyone`; U's division is in D's DataScope `divisions`.

Everything here reads only the user's own columns (tenant_id, division_id, flags) and builds
a filter the database evaluates in the same statement, so a scoped query is one round trip.
On PostgreSQL a user loaded for a request (with_visible_divisions) also brings the divisions
whose jobs they may see (ids, names and which case of the rule shows each), worked out by this
rule in the user row's own statement: the request's queries name those ids as a list instead
of the rule's subquery, the division filter lists them without a statement of its own, and
the detail page names the case from them.
"""

from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
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
from django.db.models.functions import JSONArray
from django.db.models.lookups import In

from . import rls
from .managers import NOTHING
from .models import DataScopeDivision, Division, with_organisation
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


class InArray(Lookup):
    """`column IN (ids)`, sent as one array parameter on PostgreSQL: `column = ANY(%s::type[])`.

    Why: Django writes `IN (%s, %s, ...)`, one placeholder per id, and psycopg parses a
    statement with more than 50 parameters again on every execution (its cache stops there):
    for a member who sees most of a tenant's divisions, that was about half a millisecond of
    Python per statement (docs/benchmarks.md). Cast to the column's own type, the array is the
    same constant PostgreSQL makes of `IN (...)`, and it is planned the same way. One id is
    sent as `column = %s`, as PostgreSQL reads `IN` of one value: an index scan can then
    return rows in the index's order (a one-division member's list by title, jobs 0006),
    which no index scan under `= ANY(...)` does in PostgreSQL 15.
    """

    lookup_name = "in_array"
    prepare_rhs = False

    def __init__(self, lhs, rhs):
        super().__init__(lhs, tuple(rhs))  # compiled more than once: never a one-shot iterator

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql":
            return In(self.lhs, self.rhs).as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if len(values) == 1:
            return f"{lhs} = %s", [*lhs_params, *values]
        db_type = self.lhs.output_field.cast_db_type(connection)
        return f"{lhs} = ANY(%s::{db_type}[])", [*lhs_params, values]


def is_tenant_admin(user):
    """True for a principal who administers their tenant (SPEC: is_tenant_admin and is_staff)."""
    return is_principal(user) and user.is_tenant_admin and user.is_staff


# The cases of the rule, named for people ("why you can see this job").
TENANT_ADMIN = "tenant admin"
OWN_DIVISION = "own division"
EVERYONE = "everyone"
LISTED = "listed"


def _division_cases(division_id, via=""):
    """Rule 2's cases for a division D of the user's tenant, as (case, condition on D), for a
    member of division `division_id` (None: of none), or of the division an OuterRef names in
    the enclosing query; `via` is the path to D from the queried model ("division__" from a
    job)."""
    cases = []
    named = isinstance(division_id, OuterRef)
    if named or division_id is not None:
        listed = QuerySet(DataScopeDivision).filter(
            datascope_id=OuterRef(f"{via}data_scope_id"),
            # One query deeper than the conditions: an OuterRef reaches one level further.
            division_id=OuterRef(division_id) if named else division_id,
        )
        cases.append((OWN_DIVISION, Q(**{f"{via}pk": division_id})))
    cases.append((EVERYONE, Q(**{f"{via}data_scope__is_everyone": True})))
    if named or division_id is not None:
        cases.append((LISTED, Q(Exists(listed))))
    return cases


def _member_divisions(tenant_id, division_id):
    """The divisions of tenant `tenant_id` whose jobs a member of `division_id` may see; each
    argument a value, or an OuterRef to the user row of the enclosing query."""
    allowed = Q()
    for _, condition in _division_cases(division_id):
        allowed |= condition
    return QuerySet(Division).filter(tenant_id=tenant_id).filter(allowed)


def divisions_with_visible_jobs(user):
    """Ids of the divisions whose jobs `user` may see, as a subquery (no round trip)."""
    divisions = QuerySet(Division)
    if not is_principal(user):
        return divisions.none().values("pk")
    if is_tenant_admin(user):
        return divisions.filter(tenant_id=user.tenant_id).values("pk")
    return _member_divisions(user.tenant_id, user.division_id).values("pk")


# The annotation that brings a user's visible divisions with the user row.
_LOADED = "visible_divisions"


class _RuleWrites:
    """The last ORM save or delete of what the rule reads (divisions, scopes, scope lists,
    users) that this process saw: divisions.signals replaces the token on each. Divisions
    loaded under an older token are not used."""

    token = object()


def rule_written():
    """Called on every ORM save or delete of what the rule reads (divisions.signals)."""
    _RuleWrites.token = object()


@dataclass(frozen=True)
class _Loaded:
    """A user's visible divisions as their row brought them, ((id, name), ...) by name, the
    case of the rule that shows each one's jobs ((id, case), ...), and what they depend on."""

    divisions: tuple
    cases: tuple
    writes: object
    tenant_id: int | None
    division_id: int | None


def with_visible_divisions(function, *args):
    """Call `function`, which loads a user (Django's get_user, an access token's user): the
    user row comes with its tenant and division and, on PostgreSQL, with the divisions whose
    jobs that user may see (ids, names and the case of the rule that shows their jobs),
    worked out by this rule in the same statement.

    Scoped queries for that user name the ids as a list (no subquery planned again in every
    statement; docs/benchmarks.md) while the user's tenant and division are as loaded and the
    process has seen no ORM save or delete of what the rule reads since (divisions.signals);
    otherwise the rule is a subquery again. A write that sends no signal (QuerySet.update,
    bulk operations, raw SQL, another process) counts from the next request. Row-level
    security works the rule out for itself from the next statement, whatever the ORM names."""
    annotations = {}
    if rls.enforced():
        divisions = _member_divisions(OuterRef("tenant_id"), OuterRef("division_id"))
        # In the division filter's order (Division.Meta.ordering). The scope's flag comes
        # from the join the rule already makes: it tells EVERYONE from LISTED (_cases_of).
        row = JSONArray("pk", "name", "data_scope__is_everyone")
        annotations[_LOADED] = ArraySubquery(divisions.order_by("name", "pk").values(row=row))
    writes = _RuleWrites.token
    user = with_organisation(function, *args, **annotations)
    rows = vars(user).pop(_LOADED, None)  # an anonymous user has none
    if rows is not None:
        user._loaded_divisions = _Loaded(
            divisions=tuple((pk, name) for pk, name, _ in rows),
            cases=_cases_of(rows, user.division_id),
            writes=writes,
            tenant_id=user.tenant_id,
            division_id=user.division_id,
        )
    return user


def _cases_of(rows, division_id):
    """((id, case), ...) for the (id, name, is_everyone) rows of the divisions whose jobs a
    member of `division_id` sees: the first case of _division_cases that applies (each row
    is there because one does: their own division, one shared with everyone, else listed)."""
    return tuple(
        (pk, OWN_DIVISION if pk == division_id else EVERYONE if everyone else LISTED)
        for pk, _, everyone in rows
    )


def _loaded(user):
    """What `user`'s row brought (with_visible_divisions), while still good, else None."""
    loaded = getattr(user, "_loaded_divisions", None)
    if loaded is None or loaded.writes is not _RuleWrites.token:
        return None
    if (loaded.tenant_id, loaded.division_id) != (user.tenant_id, user.division_id):
        return None
    return loaded


def _loaded_divisions(user):
    """The (id, name) pairs `user`'s row brought, while still good, else None."""
    loaded = _loaded(user)
    return None if loaded is None else loaded.divisions


def _first_case(cases):
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
    loaded = _loaded(user)
    if loaded is not None and loaded.cases:  # as job_filter: an empty list is not used
        # The case each division's row brought: a test of the job's own division column,
        # with no join to its division and scope (the rule's case worked out once, with the
        # user row). Cheaper to build and to plan: about 1 ms of a detail page
        # (docs/benchmarks.md).
        by_case = {}
        for pk, case in loaded.cases:
            by_case.setdefault(case, []).append(pk)
        return _first_case(
            (case, same_tenant & Q(InArray(F("division_id"), by_case[case])))
            for case in (OWN_DIVISION, EVERYONE, LISTED)
            if case in by_case
        )
    return _first_case(
        (case, same_tenant & condition)
        for case, condition in _division_cases(user.division_id, via="division__")
    )


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
    loaded = _loaded_divisions(user)
    if loaded:
        return same_tenant & Q(InArray(F("division_id"), [pk for pk, _ in loaded]))
    # No list, or an empty one: an empty IN () would empty a whole query it is joined into
    # (a division annotated with a count of its jobs), where the subquery matches no job.
    return same_tenant & Q(InSubqueryArray(F("division_id"), divisions_with_visible_jobs(user)))


def division_choices(user):
    """The divisions whose jobs `user` may see, as (id, name) pairs by name: the choices of a
    division filter. A member's come with their user row when it brought them."""
    if is_principal(user) and not is_tenant_admin(user):
        loaded = _loaded_divisions(user)
        if loaded is not None:
            return list(loaded)
    divisions = Division.objects.visible_to(user).filter(pk__in=divisions_with_visible_jobs(user))
    return list(divisions.values_list("pk", "name"))


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
