"""The cases of the visibility rule, named for people and stated as conditions on a division."""

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from ..models import DataScopeDivision

# The cases of the rule, named for people ("why you can see this job").
TENANT_ADMIN = "tenant admin"
OWN_DIVISION = "own division"
EVERYONE = "everyone"
LISTED = "listed"


def division_cases(division_id, via=""):
    """Rule 2's cases for a division D of the user's tenant, as (case, condition on D), for a
    member of division `division_id` (None: of none), of the division an OuterRef names in
    the enclosing query, or of the one an F names in the queried model's own row; `via` is the
    path to D from the queried model ("division__" from a job)."""
    cases = []
    named = isinstance(division_id, F)  # an OuterRef is an F too
    if named or division_id is not None:
        # One query deeper than the conditions: a reference reaches one level further.
        if isinstance(division_id, OuterRef):
            member_division = OuterRef(division_id)
        elif named:
            member_division = OuterRef(division_id.name)
        else:
            member_division = division_id
        listed = QuerySet(DataScopeDivision).filter(
            datascope_id=OuterRef(f"{via}data_scope_id"), division_id=member_division
        )
        cases.append((OWN_DIVISION, Q(**{f"{via}pk": division_id})))
    cases.append((EVERYONE, Q(**{f"{via}data_scope__is_everyone": True})))
    if named or division_id is not None:
        cases.append((LISTED, Q(Exists(listed))))
    return cases
