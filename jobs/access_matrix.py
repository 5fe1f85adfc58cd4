"""The access matrix's job counts: how many jobs of each column's division the viewer sees."""

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from .models import Job


def job_counts(user):
    """{"jobs": the jobs of the division an enclosing query names that `user` may see}: for a
    tenant admin every job of the division."""
    jobs = (
        Job.objects.visible_to(user)
        .filter(division_id=OuterRef("pk"))
        .order_by()
        .values("division_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return {"jobs": Coalesce(Subquery(jobs, output_field=IntegerField()), 0)}
