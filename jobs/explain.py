"""Explain, both ways, with the jobs: who can see a job, and what a user can see with how many
jobs of each division. The rule's answers are divisions.visibility.explain's."""

from dataclasses import dataclass

from django.db.models import Count

from divisions.visibility.cases import TENANT_ADMIN
from divisions.visibility.explain import audience_by_case, seen_divisions

from .models import Job


@dataclass(frozen=True)
class Sight:
    """One division whose jobs a user sees (None: the jobs of no division, which only tenant
    admins see), the case of the rule that shows them, and how many jobs that is."""

    division: object
    case: str
    jobs: int


def who_sees(job):
    """The users who can see `job`, grouped by the case of the rule that shows it to them."""
    return audience_by_case(job.tenant_id, job.division_id)


def what_sees(user):
    """What `user` can see: each division, its case and its job count, by division name (two
    queries, whatever the number of divisions)."""
    counts = dict(
        Job.objects.visible_to(user)
        .values_list("division_id")
        .annotate(jobs=Count("pk"))
        .order_by()
    )
    sight = [
        Sight(division, division.case, counts.get(division.pk, 0))
        for division in seen_divisions(user)
    ]
    if counts.get(None):
        sight.append(Sight(None, TENANT_ADMIN, counts[None]))
    return sight
