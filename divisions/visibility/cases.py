"""The cases of the visibility rule, named for people and stated as conditions on a division."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from ..models import DataScopeDivision

# The cases of the rule, named for people ("why you can see this job").
TENANT_ADMIN = "tenant admin"
OWN_DIVISION = "own division"
EVERYONE = "everyone"
LISTED = "listed"


def division_cases(division_id, via=""):
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
