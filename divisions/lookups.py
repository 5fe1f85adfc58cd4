"""Lookups that compare a column with a list of ids the way PostgreSQL plans them well."""

from django.db.models import Lookup, QuerySet
from django.db.models.lookups import In


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
    return rows in the index's order (a one-division member's list by title,
    job_division_title),
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
