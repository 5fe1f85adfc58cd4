"""The access matrix's job counts: how many jobs of each division the viewer sees."""

from django.db.models import Count

from .models import Job


def job_counts(user):
    """{"jobs": (division id, the jobs of that division `user` may see) rows}, counted in one
    statement: for a tenant admin every job of each division."""
    jobs = (
        Job.objects.visible_to(user)
        .order_by()
        .values("division_id")
        .annotate(n=Count("pk"))
        .values_list("division_id", "n")
    )
    return {"jobs": jobs}
