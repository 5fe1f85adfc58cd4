"""Every ORM path the SPEC lists is scoped: reads, writes, relations, base-manager paths."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max
from django.db.models.deletion import RestrictedError
from django.test.utils import CaptureQueriesContext

from divisions import rls
from divisions.models import DataScope, Division, Tenant
from divisions.scoping import OutOfScope, ScopeError, acting_as, unscoped
from jobs.models import Job, JobNote
from tests import oracle
from tests.factories import UserFactory, allow


def ids(queryset):
    return set(queryset.values_list("pk", flat=True))


@pytest.fixture
def alice_sees(world):
    j = world.jobs
    return {j.hq.pk, j.electrical.pk, j.plumbing.pk}


class TestReads:
    def test_get_out_of_scope_raises_does_not_exist(self, world):
        with acting_as(world.u.alice), pytest.raises(Job.DoesNotExist):
            Job.objects.get(pk=world.jobs.sparks.pk)

    def test_get_other_tenant_raises_does_not_exist(self, world):
        with acting_as(world.u.alice), pytest.raises(Job.DoesNotExist):
            Job.objects.get(pk=world.jobs.field.pk)

    def test_filter_count_exists_aggregate(self, world, alice_sees):
        with acting_as(world.u.alice):
            assert ids(Job.objects.filter(status="open")) == alice_sees
            assert Job.objects.count() == 3
            assert not Job.objects.filter(pk=world.jobs.sparks.pk).exists()
            assert Job.objects.aggregate(n=Count("pk"), top=Max("pk"))["n"] == 3

    def test_values_in_bulk_iterator(self, world, alice_sees):
        every = [j.pk for j in vars(world.jobs).values()]
        with acting_as(world.u.alice):
            assert {row["pk"] for row in Job.objects.values("pk")} == alice_sees
            assert set(Job.objects.in_bulk(every)) == alice_sees
            assert {j.pk for j in Job.objects.iterator(chunk_size=1)} == alice_sees

    def test_reverse_relation_is_scoped(self, world):
        with acting_as(world.u.alice):
            assert list(world.d.sparks.jobs.all()) == []
            assert ids(world.d.hq.jobs.all()) == {world.jobs.hq.pk}

    def test_prefetch_related_is_scoped(self, world, alice_sees):
        with acting_as(world.u.alice):
            divisions = list(Division.objects.prefetch_related("jobs"))
            assert {j.pk for d in divisions for j in d.jobs.all()} == alice_sees
            # Every Acme division is listed (tenant scope), only visible jobs are attached.
            assert {d.pk for d in divisions} == {
                world.d.hq.pk,
                world.d.electrical.pk,
                world.d.plumbing.pk,
                world.d.sparks.pk,
            }

    def test_subquery_from_another_model_is_scoped(self, world):
        with acting_as(world.u.sam):
            with_jobs = Division.objects.filter(jobs__in=Job.objects.all()).distinct()
            assert ids(with_jobs) == {world.d.sparks.pk, world.d.electrical.pk, world.d.plumbing.pk}

    def test_visible_to_needs_no_scope(self, world, alice_sees):
        assert ids(Job.objects.visible_to(world.u.alice)) == alice_sees
        assert ids(Job.objects.visible_to(world.u.operator)) == set()

    def test_raw_refused_under_a_user_scope(self, world):
        with acting_as(world.u.alice), pytest.raises(ScopeError, match="raw"):
            Job.objects.raw("SELECT * FROM jobs_job")

    def test_one_query_for_a_scoped_list(self, world, django_assert_num_queries):
        with acting_as(world.u.alice), django_assert_num_queries(1):
            assert len(list(Job.objects.select_related("division"))) == 3
        with acting_as(world.u.acme_admin), django_assert_num_queries(1):
            Job.objects.count()


class TestWrites:
    """The write rule: seeing a job is not changing it (divisions.visibility.writes)."""

    def test_a_members_status_update_reaches_its_own_divisions_jobs_only(self, world):
        with acting_as(world.u.alice):
            assert Job.objects.update(status=Job.Status.DONE) == 1
        with unscoped("check"):
            assert ids(Job.objects.filter(status=Job.Status.DONE)) == {world.jobs.hq.pk}

    def test_a_tenant_admins_update_reaches_the_tenants_jobs(self, world):
        with acting_as(world.u.acme_admin):
            expected = ids(Job.objects.all())
            assert Job.objects.update(title="renamed") == len(expected)
        with unscoped("check"):
            assert ids(Job.objects.filter(title="renamed")) == expected

    def test_a_member_changing_any_other_column_is_refused_and_changes_nothing(self, world):
        with acting_as(world.u.alice), pytest.raises(OutOfScope, match="only its status"):
            Job.objects.update(title="pwn")
        with acting_as(world.u.alice), pytest.raises(OutOfScope):
            Job.objects.filter(pk=world.jobs.hq.pk).update(status="done", division=None)
        with unscoped("check"):
            assert not Job.objects.filter(title="pwn").exists()
            assert Job.objects.get(pk=world.jobs.hq.pk).status == Job.Status.OPEN

    def test_a_members_delete_reaches_nothing(self, world, alice_sees):
        total = len(vars(world.jobs))
        with acting_as(world.u.alice):
            deleted, _ = Job.objects.delete()
        assert deleted == 0
        with unscoped("check"):
            assert Job.objects.count() == total

    def test_a_tenant_admins_delete_reaches_the_tenants_jobs_only(self, world):
        with unscoped("count"):
            globex = Job.objects.filter(tenant=world.tenants.globex).count()
        with acting_as(world.u.acme_admin):
            acme = Job.objects.count()
            deleted, _ = Job.objects.delete()
        assert deleted == acme
        with unscoped("check"):
            assert Job.objects.count() == globex

    def test_bulk_update_of_status_reaches_the_own_division_only(self, world):
        with unscoped("load"):
            jobs = list(Job.objects.all())
        for job in jobs:
            job.status = Job.Status.DONE
        with acting_as(world.u.alice):
            Job.objects.bulk_update(jobs, ["status"])
            with pytest.raises(OutOfScope), transaction.atomic():
                Job.objects.bulk_update(jobs, ["title"])
        with unscoped("check"):
            assert ids(Job.objects.filter(status=Job.Status.DONE)) == {world.jobs.hq.pk}

    def test_a_member_saves_a_status_change_of_its_own_divisions_job(self, world):
        with acting_as(world.u.alice):
            job = Job.objects.get(pk=world.jobs.hq.pk)
            job.status = Job.Status.SCHEDULED
            job.save()
            job.refresh_from_db()
            assert job.status == Job.Status.SCHEDULED

    def test_a_members_save_of_another_column_is_refused_and_changes_nothing(self, world):
        with acting_as(world.u.alice):
            job = Job.objects.get(pk=world.jobs.hq.pk)
            job.title = "Rewire"
            job.status = Job.Status.DONE
            with pytest.raises(OutOfScope, match="only its status"), transaction.atomic():
                job.save()
        with unscoped("check"):
            stored = Job.objects.get(pk=world.jobs.hq.pk)
        assert (stored.title, stored.status) == (world.jobs.hq.title, Job.Status.OPEN)

    def test_a_members_save_of_a_visible_job_of_another_division_is_refused(self, world):
        with acting_as(world.u.alice):
            job = Job.objects.get(pk=world.jobs.electrical.pk)
            job.status = Job.Status.DONE
            with pytest.raises(OutOfScope), transaction.atomic():
                job.save(update_fields=["status", "updated_at"])
        with unscoped("check"):
            assert Job.objects.get(pk=job.pk).status == Job.Status.OPEN

    def test_a_tenant_admin_saves_any_column(self, world):
        with acting_as(world.u.acme_admin):
            job = Job.objects.get(pk=world.jobs.electrical.pk)
            job.title = "Rewire"
            job.save()
            job.refresh_from_db()
            assert job.title == "Rewire"

    def test_save_out_of_scope_job_raises_and_changes_nothing(self, world):
        job = world.jobs.sparks
        job.title = "hijacked"
        with acting_as(world.u.alice), pytest.raises(Job.DoesNotExist), transaction.atomic():
            job.save()
        with unscoped("check"):
            assert Job.objects.get(pk=job.pk).title == "Sparks job"

    def test_create_into_invisible_division_refused(self, world):
        with acting_as(world.u.alice), pytest.raises(OutOfScope):
            Job.objects.create(tenant=world.tenants.acme, division=world.d.sparks, title="x")

    def test_create_into_other_tenant_refused(self, world):
        with acting_as(world.u.acme_admin), pytest.raises(OutOfScope):
            Job.objects.create(tenant=world.tenants.globex, division=None, title="x")

    def test_a_member_cannot_move_a_job_even_to_a_division_it_sees(self, world):
        with acting_as(world.u.alice):
            job = Job.objects.get(pk=world.jobs.hq.pk)
            job.division = world.d.electrical
            with pytest.raises(OutOfScope):
                job.save()

    def test_a_member_cannot_create_a_job_even_in_its_own_division(self, world):
        with acting_as(world.u.alice), pytest.raises(OutOfScope, match="admins create"):
            Job.objects.create(tenant=world.tenants.acme, division=world.d.hq, title="New")
        with acting_as(world.u.acme_admin):
            job = Job.objects.create(tenant=world.tenants.acme, division=world.d.hq, title="New")
            assert Job.objects.filter(pk=job.pk).exists()

    def test_a_members_instance_delete_of_a_visible_job_is_refused(self, world):
        with acting_as(world.u.alice), pytest.raises(OutOfScope):
            Job.objects.get(pk=world.jobs.hq.pk).delete()
        with unscoped("check"):
            assert Job.objects.filter(pk=world.jobs.hq.pk).exists()

    def test_refresh_from_db_out_of_scope_raises(self, world):
        job = world.jobs.sparks
        with acting_as(world.u.alice), pytest.raises(Job.DoesNotExist):
            job.refresh_from_db()

    def test_instance_delete_out_of_scope_raises_and_keeps_row(self, world):
        with acting_as(world.u.alice), pytest.raises(Job.DoesNotExist):
            world.jobs.sparks.delete()
        with unscoped("check"):
            assert Job.objects.filter(pk=world.jobs.sparks.pk).exists()

    def test_writes_under_unscoped(self, world):
        with unscoped("maintenance"):
            job = world.jobs.sparks
            job.title = "Fixed by ops"
            job.save()
            job.refresh_from_db()
            assert job.title == "Fixed by ops"
            job.delete()
            assert not Job.objects.filter(pk=job.pk).exists()


class TestForeignKeysAndCascades:
    @pytest.fixture
    def notes(self, world):
        with unscoped("setup"):
            return {
                name: JobNote.objects.create(job=job, body=name).pk
                for name, job in vars(world.jobs).items()
            }

    def test_forward_fk_to_out_of_scope_job_raises_does_not_exist(self, world, notes):
        with unscoped("read the note as system work"):
            hidden = JobNote.objects.get(pk=notes["sparks"])
        with acting_as(world.u.alice):
            assert JobNote.objects.get(pk=notes["hq"]).job == world.jobs.hq
            with pytest.raises(Job.DoesNotExist):
                hidden.job  # noqa: B018

    def test_notes_of_hidden_jobs_do_not_exist(self, world, notes):
        with acting_as(world.u.alice), pytest.raises(JobNote.DoesNotExist):
            JobNote.objects.get(pk=notes["sparks"])

    def test_filter_through_a_scoped_subquery(self, world, notes):
        with acting_as(world.u.alice):
            visible = {n.job_id for n in JobNote.objects.filter(job__in=Job.objects.all())}
        assert visible == {world.jobs.hq.pk, world.jobs.electrical.pk, world.jobs.plumbing.pk}

    def test_cascading_delete_inside_scope(self, world, notes):
        with acting_as(world.u.acme_admin):
            Job.objects.get(pk=world.jobs.hq.pk).delete()
        with unscoped("check"):
            assert not JobNote.objects.filter(pk=notes["hq"]).exists()
            assert JobNote.objects.filter(pk=notes["sparks"]).exists()

    def test_division_with_jobs_cannot_be_deleted(self, world):
        with acting_as(world.u.acme_admin), pytest.raises(RestrictedError):
            Division.objects.get(pk=world.d.hq.pk).delete()

    def test_division_delete_cascades_inside_scope(self, world):
        with unscoped("setup"):
            empty = Division.objects.create(tenant=world.tenants.acme, name="Empty")
            allow(world.d.hq, empty)
            member = UserFactory(division=empty)
        with acting_as(world.u.acme_admin):
            Division.objects.get(pk=empty.pk).delete()
            assert not DataScope.objects.filter(pk=empty.data_scope_id).exists()
            assert ids(DataScope.objects.get(pk=world.d.hq.data_scope_id).divisions.all()) == set()
        with unscoped("check"):
            member.refresh_from_db()
        assert member.division_id is None

    def test_deleting_another_tenants_rows_is_refused_up_front(self, world):
        with acting_as(world.u.acme_admin):
            with pytest.raises(Tenant.DoesNotExist):
                Tenant.objects.get(pk=world.tenants.globex.pk)
            with pytest.raises(OutOfScope):
                world.tenants.globex.delete()
            with pytest.raises(OutOfScope):
                world.d.ops.delete()
        with unscoped("check"):
            assert Job.objects.filter(tenant=world.tenants.globex).count() == 3
            assert Division.objects.filter(pk=world.d.ops.pk).exists()

    def test_tenant_delete_cascades_under_unscoped(self, world, notes):
        with unscoped("offboard tenant"):
            world.tenants.globex.delete()
            assert not Job.objects.filter(tenant_id=world.tenants.globex.pk).exists()
            assert not Division.objects.filter(tenant_id=world.tenants.globex.pk).exists()
            assert Job.objects.filter(tenant=world.tenants.acme).count() == 5


class TestNamedCases:
    """Each case of the rule, by name, checked against the oracle too."""

    @pytest.mark.parametrize(
        ("user", "expected"),
        [
            ("alice", {"hq", "electrical", "plumbing"}),  # own, listed in, everyone
            ("sam", {"sparks", "electrical", "plumbing"}),  # a subcontractor
            ("elle", {"electrical", "plumbing"}),  # not listed in hq's private scope
            ("nodiv", {"plumbing"}),  # no division: is_everyone only
            ("gina", {"ops", "field"} - {"ops"}),  # globex: ops is private
            ("acme_admin", {"hq", "electrical", "plumbing", "sparks", "acme_unassigned"}),
            ("globex_admin", {"ops", "field", "globex_unassigned"}),
            ("inactive", set()),
            ("staff_only", {"sparks", "electrical", "plumbing"}),  # is_staff grants nothing
            ("operator", set()),  # superuser without a tenant sees no jobs
            ("anonymous", set()),
        ],
    )
    def test_case(self, world, user, expected):
        user = getattr(world.u, user)
        want = {getattr(world.jobs, name).pk for name in expected}
        with acting_as(user):
            assert ids(Job.objects.all()) == want
        with unscoped("oracle"):
            assert oracle.visible_jobs(oracle.snapshot(), user) == want

    def test_tenant_admin_flag_without_staff_is_not_a_tenant_admin(self, world):
        user = world.u.acme_admin
        user.is_staff = False
        with acting_as(user):
            # Without staff status the tenant-admin flag grants nothing: like any user
            # without a division, they see the is_everyone divisions only.
            assert ids(Job.objects.all()) == {world.jobs.plumbing.pk}


class TestJoinsIntoJobs:
    """A join that starts from another model and reaches jobs sees the visible jobs only."""

    @pytest.fixture
    def notes(self, world):
        with unscoped("setup"):
            return {
                name: JobNote.objects.create(job=job, body=f"{name} note").pk
                for name, job in vars(world.jobs).items()
            }

    def test_select_related_and_job_lookups_from_notes(self, world, notes):
        """A note's job title is not a side channel: the notes manager is scoped by the rule."""
        with acting_as(world.u.alice):
            assert {n.job.title for n in JobNote.objects.select_related("job")} == {
                "Head Office job",
                "Electrical job",
                "Plumbing job",
            }
            assert not JobNote.objects.filter(job__title="Sparks job").exists()
            assert JobNote.objects.filter(job__title="Electrical job").count() == 1

    def test_jobs_filtered_by_their_notes(self, world, notes):
        with acting_as(world.u.alice):
            assert not Job.objects.filter(notes__body="sparks note").exists()
            assert list(Job.objects.filter(notes__body="hq note")) == [world.jobs.hq]

    def test_divisions_filtered_by_their_jobs(self, world, notes):
        """Division.objects.filter(jobs__title=...) would reveal a hidden job's title by which
        division matches; the scoped foreign key restricts the join to visible jobs."""
        with acting_as(world.u.alice):
            assert not Division.objects.filter(jobs__title="Sparks job").exists()
            assert Division.objects.filter(jobs__title="Plumbing job").get() == world.d.plumbing
            assert (
                not Division.objects.exclude(jobs__title="Sparks job")
                .filter(pk=world.d.hq.pk, jobs__notes__body="sparks note")
                .exists()
            )
            assert not Division.objects.filter(jobs__notes__body="sparks note").exists()
            hidden = Division.objects.filter(jobs__title__startswith="S").values("jobs__title")
            assert list(hidden) == []
            counted = Division.objects.annotate(n=Count("jobs")).get(pk=world.d.sparks.pk)
            assert counted.n == 0
        with acting_as(world.u.sam):
            assert Division.objects.filter(jobs__title="Sparks job").get() == world.d.sparks

    def test_exclude_through_the_join_ignores_hidden_jobs(self, world, notes):
        with acting_as(world.u.alice):
            # Sparks' only job is hidden: excluding "divisions with a job titled so" keeps it.
            kept = Division.objects.exclude(jobs__title="Sparks job")
            assert world.d.sparks in kept

    def test_unscoped_joins_see_every_job(self, world, notes):
        with unscoped("check"):
            assert Division.objects.filter(jobs__title="Sparks job").get() == world.d.sparks

    def test_joins_with_no_scope_never_see_hidden_jobs(self, world):
        """visible_to() with no active scope: the join is scoped by the scope the database
        query runs in (PostgreSQL re-enters alice's), or refused when there is none (SQLite)."""
        divisions = Division.objects.visible_to(world.u.alice).filter(jobs__title="Sparks job")
        try:
            assert list(divisions) == []
        except ScopeError:
            assert not rls.enforced()


class TestSaveStatements:
    """Job.save() inside a scope is its UPDATE alone (the write rule is in its WHERE clause),
    and still refuses what it refused."""

    @pytest.mark.parametrize("who", ["alice", "acme_admin"])
    def test_a_status_change_is_the_update_alone(self, world, who):
        with acting_as(getattr(world.u, who)):
            job = Job.objects.get(pk=world.jobs.hq.pk)
            job.status = Job.Status.DONE
            for update_fields in (["status", "updated_at"], None):
                with CaptureQueriesContext(connection) as captured:
                    job.save(update_fields=update_fields)
                statements = [query["sql"].split()[0] for query in captured.captured_queries]
                assert statements == ["UPDATE"]
        with unscoped("check"):
            assert Job.objects.get(pk=job.pk).status == Job.Status.DONE

    def test_a_move_is_checked_in_full(self, world):
        with acting_as(world.u.acme_admin):
            job = Job.objects.get(pk=world.jobs.hq.pk)
            job.division = world.d.ops
            # The check reads the division's tenant; on PostgreSQL another tenant's division
            # is not readable, and the composite foreign key refuses the row instead.
            with pytest.raises((ValidationError, IntegrityError)), transaction.atomic():
                job.save()
            job.division = world.d.electrical
            job.save()
        with unscoped("check"):
            assert Job.objects.get(pk=job.pk).division_id == world.d.electrical.pk
