"""Property: on random worlds, every scoped ORM path returns exactly the oracle's rows."""

from contextlib import suppress

import pytest
from django.db import DatabaseError, NotSupportedError, connection, transaction
from django.db.models import QuerySet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divisions import rls
from divisions.models import Division, User
from divisions.scoping import OutOfScope, acting_as, unscoped
from divisions.visibility.choices import division_choices
from divisions.visibility.loaded_divisions import with_visible_divisions
from jobs.models import Job, JobNote
from tests import oracle
from tests.cluster import LOCAL_JOIN_REFUSED, ON_CITUS
from tests.strategies import build, worlds


def joined_from_divisions(ids):
    """A path that joins divisions to jobs: its ids; on a Citus cluster, where divisions stay
    on the coordinator and jobs are distributed, None when Citus refuses the join (a scope
    that reads nothing sends no query to refuse)."""
    if not ON_CITUS:
        return set(ids())
    try:
        with transaction.atomic():
            return set(ids())
    except NotSupportedError as refused:
        assert LOCAL_JOIN_REFUSED in str(refused)
        return None


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
        got["divisions_by_job"] = joined_from_divisions(
            lambda: Division.objects.filter(jobs__title__startswith="J").values_list(
                "jobs", flat=True
            )
        )
        got["divisions_by_note"] = joined_from_divisions(
            lambda: Division.objects.filter(jobs__notes__body__startswith="note").values_list(
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
                    if ids is None:  # refused on a Citus cluster: nothing to compare
                        continue
                    # A reverse relation starts from a division, so it reaches assigned jobs only.
                    want = with_division if path in FROM_DIVISIONS else expected
                    assert ids == want, f"{path} for {user.username}"
                assert count == len(expected)
                assert exists == bool(expected)
                assert pickable == oracle.pickable_divisions(world, user)
        finally:
            transaction.set_rollback(True)


def rows_written(sql):
    """The ids `sql` (... RETURNING id) writes as the app role, in a savepoint rolled back."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
        written = {pk for (pk,) in cursor.fetchall()}
        transaction.set_rollback(True)
    return written


def orm_written(write):
    """(ids written, or OutOfScope) of `write` through the scoped ORM, rolled back."""
    try:
        with transaction.atomic():
            before = snapshot_of_jobs()
            write()
            after = snapshot_of_jobs()
            transaction.set_rollback(True)
    except OutOfScope:
        return OutOfScope
    return {pk for pk in before if after.get(pk) != before[pk]}


def snapshot_of_jobs():
    with unscoped("property test check"):
        jobs = {pk: row for pk, *row in QuerySet(Job).values_list("pk", "title", "status")}
        notes = dict.fromkeys(
            (("note", pk) for pk in QuerySet(JobNote).values_list("pk", flat=True)), ()
        )
    return {**jobs, **notes}


WRITES = {
    # name: (ORM write, SQL as the app role, columns the oracle checks; None: a delete)
    "status": (lambda: Job.objects.update(status="done"), "UPDATE jobs_job SET status = 'done'"),
    "title": (lambda: Job.objects.update(title="touched"), "UPDATE jobs_job SET title = 'touched'"),
    "delete jobs": (lambda: (JobNote.objects.all().delete(), Job.objects.all().delete()), None),
    "delete notes": (lambda: JobNote.objects.all().delete(), "DELETE FROM jobs_jobnote"),
}


def expected_writes(world, user, write):
    """What the oracle lets `user` write with `write`: ids (notes as ("note", id)), or
    OutOfScope when the ORM refuses the columns outright."""
    if write == "title" and not oracle.may_change_columns(user, {"title"}):
        return OutOfScope if oracle.is_principal(user) else set()
    if write == "delete notes":
        return {("note", pk) for pk in oracle.deletable_notes(world, user)}
    if write == "delete jobs":
        notes = {("note", pk) for pk in oracle.deletable_notes(world, user)}
        return notes | oracle.writable_jobs(world, user, None)
    return oracle.writable_jobs(world, user, {write})


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(description=worlds(), which=st.integers(0, 5), write=st.sampled_from(sorted(WRITES)))
def test_writes_touch_exactly_the_oracles_rows(db, description, which, write):
    """The write rule, on both layers: the scoped ORM writes exactly what the oracle allows,
    and on PostgreSQL so does SQL as the app role inside the user's principal (the policies
    alone: what an injection gets)."""
    with unscoped("property test world"), transaction.atomic():
        users = build(description)
        world = oracle.snapshot()
        user = users[which % len(users)]
        expected = expected_writes(world, user, write)
        orm, sql = WRITES[write]
        try:
            with acting_as(user):
                assert orm_written(orm) == expected, f"ORM {write} as {user.username}"
                if sql is None or not rls.enforced():
                    return
                policies = oracle.writable_jobs(world, user, {write})
                if write == "delete notes":
                    assert rows_written(f"{sql} RETURNING id") == {pk for _, pk in expected}
                elif write == "title" and oracle.writable_jobs(world, user, {"status"}) - policies:
                    # A member's own division's rows pass the UPDATE policy's USING and fail
                    # its column check.
                    with pytest.raises(DatabaseError, match="row-level security"):
                        rows_written(f"{sql} RETURNING id")
                else:
                    assert rows_written(f"{sql} RETURNING id") == policies
        finally:
            transaction.set_rollback(True)
