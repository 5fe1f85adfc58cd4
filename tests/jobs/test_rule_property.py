"""Property: on random worlds, every scoped ORM path returns exactly the oracle's rows."""

from contextlib import suppress

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divisions.models import DataScope, Division, User
from divisions.scoping import acting_as, unscoped
from divisions.visibility.choices import division_choices
from divisions.visibility.loaded_divisions import with_visible_divisions
from jobs.models import Job, JobNote
from tests import oracle
from tests.strategies import build, worlds


def paths(user, all_job_ids):
    """What each scoped ORM path returns, as sets of job ids, acting as `user`."""
    with acting_as(user):
        got = {
            "all": {j.pk for j in Job.objects.all()},
            "filter": set(Job.objects.filter(pk__in=all_job_ids).values_list("pk", flat=True)),
            "values": {row["pk"] for row in Job.objects.values("pk")},
            "in_bulk": set(Job.objects.in_bulk(all_job_ids)),
            "iterator": {j.pk for j in Job.objects.iterator(chunk_size=3)},
            "reverse": {j.pk for d in Division.objects.all() for j in d.jobs.all()},
            "prefetch": {
                j.pk for d in Division.objects.prefetch_related("jobs") for j in d.jobs.all()
            },
            "get": set(),
            "fk": set(),
        }
        count, exists = Job.objects.count(), Job.objects.exists()
        for pk in all_job_ids:
            with suppress(Job.DoesNotExist):
                got["get"].add(Job.objects.get(pk=pk).pk)
        for note in JobNote.objects.all():
            with suppress(Job.DoesNotExist):
                got["fk"].add(note.job.pk)
        # Notes: every path into a note or out of it ends at the jobs the user may see.
        got["notes"] = {n.job_id for n in JobNote.objects.all()}
        got["notes_select_related"] = {n.job.pk for n in JobNote.objects.select_related("job")}
        got["notes_by_job_title"] = set(
            JobNote.objects.filter(job__title__startswith="J").values_list("job_id", flat=True)
        )
        got["jobs_by_note"] = set(
            Job.objects.filter(notes__body__startswith="note").values_list("pk", flat=True)
        )
        got["divisions_by_job"] = set(
            Division.objects.filter(jobs__title__startswith="J").values_list("jobs", flat=True)
        )
        got["divisions_by_note"] = set(
            Division.objects.filter(jobs__notes__body__startswith="note").values_list(
                "jobs__notes__job", flat=True
            )
        )
        pickable = {pk for pk, _ in division_choices(user)}
    got["visible_to"] = set(Job.objects.visible_to(user).values_list("pk", flat=True))
    return got, count, exists, pickable


FROM_DIVISIONS = ("reverse", "prefetch", "divisions_by_job", "divisions_by_note")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(description=worlds())
def test_every_path_matches_the_oracle(db, description):
    with unscoped("property test world"), transaction.atomic():
        users = build(description)
        world = oracle.snapshot()
        all_job_ids = list(world.jobs)
        # Each user as the tests make it, and as a request loads it (on PostgreSQL with the
        # divisions it may see: divisions.visibility.loaded_divisions).
        loaded = [
            with_visible_divisions(lambda pk=user.pk: User.objects.get(pk=pk)) for user in users
        ]
        try:
            for user in [*users, *loaded]:
                expected = oracle.visible_jobs(world, user)
                got, count, exists, pickable = paths(user, all_job_ids)
                with_division = {pk for pk in expected if world.jobs[pk][1] is not None}
                for path, ids in got.items():
                    # A reverse relation starts from a division, so it reaches assigned jobs only.
                    want = with_division if path in FROM_DIVISIONS else expected
                    assert ids == want, f"{path} for {user.username}"
                assert count == len(expected)
                assert exists == bool(expected)
                assert pickable == oracle.pickable_divisions(world, user)
        finally:
            transaction.set_rollback(True)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(description=worlds(), which=st.integers(0, 5), delete=st.booleans())
def test_writes_touch_exactly_the_oracles_rows(db, description, which, delete):
    with unscoped("property test world"), transaction.atomic():
        users = build(description)
        world = oracle.snapshot()
        user = users[which % len(users)]
        expected = oracle.visible_jobs(world, user)
        try:
            with acting_as(user):
                if delete:
                    JobNote.objects.all().delete()
                    Job.objects.all().delete()
                else:
                    assert Job.objects.update(title="touched") == len(expected)
            remaining = set(Job.objects.values_list("pk", flat=True))
            if delete:
                assert remaining == set(world.jobs) - expected
            else:
                touched = set(Job.objects.filter(title="touched").values_list("pk", flat=True))
                assert touched == expected
            assert DataScope.objects.count() == len(world.divisions)
        finally:
            transaction.set_rollback(True)
