"""Job's default and base manager: the jobs the acting principal may see."""

from divisions.managers import ScopedManager, ScopedQuerySet
from divisions.visibility import job_filter


class JobQuerySet(ScopedQuerySet):
    """Jobs, newest first by default."""


class JobManager(ScopedManager.from_queryset(JobQuerySet)):
    """Scoped by the visibility rule (divisions.visibility.job_filter)."""

    def scope_filter(self, principal):
        return job_filter(principal)
