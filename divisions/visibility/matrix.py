"""
The access matrix of a tenant: for each pair of its divisions, whether members of the first
(the row, the viewer's division) see the second's jobs (the column) and by which case of the
rule; and a last row for the tenant's users of no division, who see the jobs of the divisions
shared with everyone. Worked out by division_cases itself, for every pair in one statement.
"""

from dataclasses import dataclass

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from ..models import Division, User
from .cases import division_cases


@dataclass(frozen=True)
class Line:
    """A division as a row or a column: its id, name and counts ({"users": n, ...})."""

    id: int
    name: str
    counts: dict


@dataclass(frozen=True)
class Matrix:
    """Rows (viewers' divisions), columns (jobs' divisions), both by name, and each pair's
    case ({(row id, column id): OWN_DIVISION, EVERYONE or LISTED}; a pair missing: no sight)."""

    rows: tuple
    columns: tuple
    cells: dict

    def case(self, row, column):
        return self.cells.get((row.id, column.id))

    def as_data(self):
        """The matrix as plain JSON-ready data (a recorded review keeps it)."""
        return {
            "rows": [{"division": r.name, **r.counts} for r in self.rows],
            "columns": [{"division": c.name, **c.counts} for c in self.columns],
            "cells": [[self.case(r, c) for c in self.columns] for r in self.rows],
        }


def active_members():
    """Active users of the division an enclosing query names, counted (a division's users)."""
    users = (
        QuerySet(User)
        .filter(division_id=OuterRef("pk"), is_active=True)
        .order_by()
        .values("division_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(users, output_field=IntegerField()), 0)


def _case_for_member_of(row):
    """The first case of the rule that shows a division's jobs to a member of `row` (an
    F or OuterRef naming a division; None: a user of no division), as an expression on that
    division; None: no case."""
    whens = [When(condition, then=Value(case)) for case, condition in division_cases(row)]
    return Case(*whens, default=Value(None), output_field=CharField())


# The last row's name: users of the tenant in no division.
NO_DIVISION = "(no division)"


def access_matrix(tenant_id, columns=None, column_counts=None):
    """The tenant's matrix: every division as a row, then the users of no division (id None);
    as columns, every division or those whose ids are in `columns` (a queryset of ids, or a
    list). Rows count their active users ("users"); columns count by the queries in
    `column_counts` ({name: (division id, count) rows}, counted by division in one statement;
    the jobs app adds "jobs"). Four statements and one per column count, whatever the number
    of divisions."""
    divisions = (
        QuerySet(Division)
        .filter(tenant_id=tenant_id)
        .annotate(count_users=active_members())
        .order_by("name", "pk")
    )
    lines = {d.pk: (d.name, d.count_users) for d in divisions.only("pk", "name")}
    counted = {name: dict(rows) for name, rows in (column_counts or {}).items()}
    rows = tuple(Line(pk, name, {"users": users}) for pk, (name, users) in lines.items())
    wanted = set(lines) if columns is None else set(columns) & set(lines)
    cols = tuple(
        Line(pk, name, {count: by_division.get(pk, 0) for count, by_division in counted.items()})
        for pk, (name, _) in lines.items()
        if pk in wanted
    )
    # Every (row, column) pair of the tenant, by joining each column division to its tenant's
    # divisions as rows; the column's case is asked as a member of the row's division would.
    # The column's scope is joined once per column, not once per pair.
    pairs = (
        QuerySet(Division)
        .filter(tenant_id=tenant_id, pk__in=[c.id for c in cols])
        .annotate(row=F("tenant__divisions__pk"))
        .annotate(case=_case_for_member_of(F("row")))
        .filter(case__isnull=False)
        .order_by()
        .values_list("row", "pk", "case")
    )
    cells = {(row, column): found for row, column, found in pairs}
    no_division = (
        QuerySet(User).filter(tenant_id=tenant_id, division__isnull=True, is_active=True).count()
    )
    shared = (
        QuerySet(Division)
        .filter(pk__in=[c.id for c in cols])
        .annotate(case=_case_for_member_of(None))
        .filter(case__isnull=False)
        .values_list("pk", "case")
    )
    cells.update(((None, column), found) for column, found in shared)
    rows += (Line(None, NO_DIVISION, {"users": no_division}),)
    return Matrix(rows, cols, cells)
