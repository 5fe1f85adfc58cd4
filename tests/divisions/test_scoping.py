"""The scoping core: fail closed with no scope, filter for the acting user, opt out by reason."""

import asyncio
import threading

import pytest
from django.db.models import Count

from divisions.models import DataScope, Division
from divisions.scoping import ScopeError, acting_as, current_scope, unscoped
from jobs.models import Job, JobNote


def ids(queryset):
    return set(queryset.values_list("pk", flat=True))


class TestNoScope:
    @pytest.mark.parametrize(
        "evaluate",
        [
            list,
            lambda qs: qs.count(),
            lambda qs: qs.exists(),
            lambda qs: qs.first(),
            lambda qs: qs.get(pk=1),
            lambda qs: qs.aggregate(Count("pk")),
            lambda qs: list(qs.values("pk")),
            lambda qs: qs.in_bulk([1]),
            lambda qs: list(qs.iterator()),
            lambda qs: qs.update(title="x"),
            lambda qs: qs.delete(),
            lambda qs: bool(qs),
            lambda qs: qs[0],
        ],
    )
    def test_every_evaluation_raises_scope_error(self, world, evaluate):
        with pytest.raises(ScopeError, match="no active scope"):
            evaluate(Job.objects.all())

    def test_organisation_tables_fail_closed_too(self, world):
        with pytest.raises(ScopeError):
            list(Division.objects.all())
        with pytest.raises(ScopeError):
            DataScope.objects.count()

    def test_as_subquery_raises(self, world):
        inner = Job.objects.filter(status="open")  # made with no scope
        with unscoped("outer query"), pytest.raises(ScopeError):
            list(Division.objects.filter(jobs__in=inner))

    def test_nothing_was_changed_by_refused_writes(self, world):
        with pytest.raises(ScopeError):
            Job.objects.update(title="hijacked")
        with unscoped("check"):
            assert not Job.objects.filter(title="hijacked").exists()

    def test_forward_foreign_key_raises(self, world):
        with unscoped("setup"):
            note = JobNote.objects.create(job=world.jobs.hq, body="note")
            note = JobNote.objects.get(pk=note.pk)
        with pytest.raises(ScopeError):
            note.job  # noqa: B018


class TestActingAs:
    def test_member_sees_own_listed_and_everyone_divisions(self, world):
        j = world.jobs
        with acting_as(world.u.alice):
            assert ids(Job.objects.all()) == {j.hq.pk, j.electrical.pk, j.plumbing.pk}

    def test_tenant_admin_sees_whole_tenant_including_unassigned(self, world):
        with acting_as(world.u.acme_admin):
            assert ids(Job.objects.all()) == {
                j.pk
                for name, j in vars(world.jobs).items()
                if name not in ("ops", "field", "globex_unassigned")
            }

    def test_nests_and_restores(self, world):
        with acting_as(world.u.alice):
            with acting_as(world.u.gina):
                assert ids(Job.objects.all()) == {world.jobs.field.pk}
            assert world.jobs.hq.pk in ids(Job.objects.all())
        assert current_scope() is None

    def test_unscoped_needs_a_reason(self):
        with pytest.raises(ValueError, match="reason"), unscoped("  "):
            pass

    def test_unscoped_sees_every_row(self, world):
        with unscoped("export"):
            assert Job.objects.count() == len(vars(world.jobs))


class TestContextLocal:
    def test_threads_never_see_each_others_scope(self, world, django_db_blocker):
        results, barrier = {}, threading.Barrier(2)

        def work(user):
            with acting_as(user):
                barrier.wait()
                results[user.username] = current_scope().principal

        threads = [threading.Thread(target=work, args=(u,)) for u in (world.u.alice, world.u.gina)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == {"alice": world.u.alice, "gina": world.u.gina}

    def test_asyncio_tasks_never_see_each_others_scope(self, world, monkeypatch):
        """Also, on PostgreSQL, entering a scope in an event loop opens no transaction there."""
        # The browser tests set it for the whole session; production never does.
        monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)

        async def work(user, delay):
            with acting_as(user):
                await asyncio.sleep(delay)
                return current_scope().principal

        async def main():
            return await asyncio.gather(work(world.u.alice, 0.02), work(world.u.gina, 0.01))

        assert asyncio.run(main()) == [world.u.alice, world.u.gina]
