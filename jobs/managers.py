"""The default and base managers of jobs and their notes: what the acting principal may see."""

from django.db.models import Q, QuerySet

from divisions.managers import NOTHING, ScopedManager, ScopedQuerySet
from divisions.visibility import job_filter


class JobQuerySet(ScopedQuerySet):
    """Jobs, newest first by default."""


class JobManager(ScopedManager.from_queryset(JobQuerySet)):
    """Scoped by the visibility rule (divisions.visibility.job_filter)."""

    def scope_filter(self, principal):
        return job_filter(principal)


class JobNoteManager(ScopedManager):
    """Scoped through the note's job: the notes of the jobs the principal may see."""

    def scope_filter(self, principal):
        rule = job_filter(principal)
        if rule is NOTHING:
            return NOTHING
        # Job is reached through the field: this module sits below jobs.models.
        jobs = QuerySet(self.model._meta.get_field("job").related_model)
        return Q(tenant_id=principal.tenant_id, job__in=jobs.filter(rule).values("pk"))
