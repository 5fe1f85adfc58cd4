"""The default and base managers of jobs and their notes: what the acting principal may see."""

from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL

from divisions import rls
from divisions.lookups import InSubqueryArray
from divisions.managers import NOTHING, ScopedManager, ScopedQuerySet
from divisions.models import check_same_tenant
from divisions.scoping import OutOfScope
from divisions.visibility.rule import job_filter
from divisions.visibility.writes import job_write_filter, may_place_job, note_write_filter


class JobQuerySet(ScopedQuerySet):
    """Jobs, newest first by default."""

    # (term, status, division id) of a list search made by search(); any later filter drops it.
    _search = None

    def _clone(self):
        clone = super()._clone()
        clone._search = self._search
        return clone

    def _filter_or_exclude(self, negate, args, kwargs):
        clone = super()._filter_or_exclude(negate, args, kwargs)
        clone._search = None
        return clone

    def bulk_create(self, objs, *args, **kwargs):
        """As Job.save() for a new job: under a principal, only the tenant's admins create
        jobs, each in a division of that tenant. On a Citus cluster one INSERT per tenant:
        the ids a multi-row INSERT returns come back shard by shard there, not in the order
        of its rows, and Django gives them to the jobs in that order."""
        objs = list(objs)
        scope = self._made_under
        if scope is not None and not scope.is_unscoped:
            for job in objs:
                if not may_place_job(scope.principal, job.tenant_id):
                    raise OutOfScope("Only the tenant's admins create jobs or move them.")
                check_same_tenant(job, division=job.division_id)
        if not rls.on_citus(self.db):
            return super().bulk_create(objs, *args, **kwargs)
        by_tenant = {}
        for job in objs:
            by_tenant.setdefault(job.tenant_id, []).append(job)
        for jobs in by_tenant.values():
            super().bulk_create(jobs, *args, **kwargs)
        return objs

    def with_related(self, *fields):
        """The rows these foreign keys of the jobs name, with the jobs: joined on one server;
        on a Citus cluster, where jobs are distributed and their tenants and divisions stay on
        the coordinator (a join of the two it refuses), read in a query of their own."""
        if rls.on_citus(self.db):
            return self.prefetch_related(*fields)
        return self.select_related(*fields)

    def search(self, term, status=None, division_id=None):
        """The jobs whose title contains `term` (any case), of `status` and in `division_id`
        when given: the job list's filters."""
        clone = self.filter(title__icontains=term)
        if status:
            clone = clone.filter(status=status)
        if division_id is not None:
            clone = clone.filter(division_id=division_id)
        clone._search = (term, status or None, division_id)
        return clone

    def among_first_matches(self, wanted, before=None, in_order=True):
        """The same rows for any slice of at most `wanted` newest first (older than `before`,
        a job or cursor): a search() acting for a user on PostgreSQL is also narrowed to the
        ids the database's title search finds by index (proone_title_search),
        since the planner cannot search titles well under row-level security. The filter and
        the policy still apply; the ids only narrow. With in_order=False only the number of
        rows, up to `wanted`, is the same: a capped count's narrowing (proone_title_matches)."""
        scope = self._made_under
        if (
            self._search is None
            or scope is None
            or scope.is_unscoped
            or scope.login_name is not None
            or not rls.enforced(self.db)
        ):
            return self
        ready = rls.title_search_functions(self.db)
        if rls.TITLE_SEARCH not in ready:
            return self
        function = rls.TITLE_SEARCH
        if not in_order and rls.TITLE_MATCHES in ready:
            function = rls.TITLE_MATCHES
        term, status, division_id = self._search
        created, pk = (before.created_at, before.pk) if before is not None else (None, None)
        # The function is one of two names above; every value travels as a parameter.
        ids = RawSQL(  # noqa: S611
            f"SELECT public.{function}(%s, %s, %s, %s, %s, %s)",
            [term, status, division_id, wanted, created, pk],
        )
        return self.filter(InSubqueryArray(F("pk"), ids))


class JobManager(ScopedManager.from_queryset(JobQuerySet)):
    """Scoped by the visibility rule (divisions.visibility.rule.job_filter)."""

    def scope_filter(self, principal):
        return job_filter(principal)

    def write_filter(self, principal, values):
        """And written by the write rule (divisions.visibility.writes.job_write_filter)."""
        return job_write_filter(principal, values)


class JobNoteManager(ScopedManager):
    """Scoped through the note's job: the notes of the jobs the principal may see."""

    def scope_filter(self, principal):
        rule = job_filter(principal)
        if rule is NOTHING:
            return NOTHING
        # Job is reached through the field: this module sits below jobs.models.
        jobs = QuerySet(self.model._meta.get_field("job").related_model)
        return Q(tenant_id=principal.tenant_id, job__in=jobs.filter(rule).values("pk"))

    def write_filter(self, principal, values):
        """And written by the write rule (divisions.visibility.writes.note_write_filter)."""
        return note_write_filter(principal, values)
