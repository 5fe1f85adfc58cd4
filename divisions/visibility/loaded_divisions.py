"""
The divisions whose jobs a request's user may see, brought with the user row on PostgreSQL.

A user loaded for a request (with_visible_divisions) also brings the divisions whose jobs they
may see (ids, names and which case of the rule shows each), worked out by the rule in the user
row's own statement: the request's queries name those ids as a list instead of the rule's
subquery, the division filter lists them without a statement of its own, and the detail page
names the case from them.
"""

from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef
from django.db.models.functions import JSONArray

from .. import rls
from ..models import with_organisation
from .cases import EVERYONE, LISTED, OWN_DIVISION
from .visible_divisions import member_divisions

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
class Loaded:
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
    worked out by the rule in the same statement.

    Scoped queries for that user name the ids as a list (no subquery planned again in every
    statement; docs/benchmarks.md) while the user's tenant and division are as loaded and the
    process has seen no ORM save or delete of what the rule reads since (divisions.signals);
    otherwise the rule is a subquery again. A write that sends no signal (QuerySet.update,
    bulk operations, raw SQL, another process) counts from the next request. Row-level
    security works the rule out for itself from the next statement, whatever the ORM names."""
    annotations = {}
    if rls.enforced():
        divisions = member_divisions(OuterRef("tenant_id"), OuterRef("division_id"))
        # In the division filter's order (Division.Meta.ordering). The scope's flag comes
        # from the join the rule already makes: it tells EVERYONE from LISTED (_cases_of).
        row = JSONArray("pk", "name", "data_scope__is_everyone")
        annotations[_LOADED] = ArraySubquery(divisions.order_by("name", "pk").values(row=row))
    writes = _RuleWrites.token
    user = with_organisation(function, *args, **annotations)
    rows = vars(user).pop(_LOADED, None)  # an anonymous user has none
    if rows is not None:
        user._loaded_divisions = Loaded(
            divisions=tuple((pk, name) for pk, name, _ in rows),
            cases=_cases_of(rows, user.division_id),
            writes=writes,
            tenant_id=user.tenant_id,
            division_id=user.division_id,
        )
    return user


def _cases_of(rows, division_id):
    """((id, case), ...) for the (id, name, is_everyone) rows of the divisions whose jobs a
    member of `division_id` sees: the first case of division_cases that applies (each row
    is there because one does: their own division, one shared with everyone, else listed)."""
    return tuple(
        (pk, OWN_DIVISION if pk == division_id else EVERYONE if everyone else LISTED)
        for pk, _, everyone in rows
    )


def loaded(user):
    """What `user`'s row brought (with_visible_divisions), while still good, else None."""
    brought = getattr(user, "_loaded_divisions", None)
    if brought is None or brought.writes is not _RuleWrites.token:
        return None
    if (brought.tenant_id, brought.division_id) != (user.tenant_id, user.division_id):
        return None
    return brought


def loaded_divisions(user):
    """The (id, name) pairs `user`'s row brought, while still good, else None."""
    brought = loaded(user)
    return None if brought is None else brought.divisions
