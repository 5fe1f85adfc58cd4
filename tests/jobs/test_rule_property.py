"""Property: on random worlds, every scoped ORM path returns exactly the oracle's rows."""

from contextlib import suppress

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divisions.models import DataScope, Division, Tenant, User
from divisions.scoping import acting_as, unscoped
from jobs.models import Job
from tests import oracle
from tests.jobrefs.models import JobNote


@st.composite
def worlds(draw):
    """A plain description of a world: two or three tenants, scopes, users and jobs."""
    n_tenants = draw(st.integers(2, 3))
    divisions = [(t, draw(st.integers(1, 4))) for t in range(n_tenants)]
    division_keys = [(t, i) for t, count in divisions for i in range(count)]
    scopes = {}
    for t, i in division_keys:
        same_tenant = [k for k in division_keys if k[0] == t and k != (t, i)]
        scopes[t, i] = (
            draw(st.booleans()),
            draw(st.lists(st.sampled_from(same_tenant), unique=True)) if same_tenant else [],
        )
    user = st.tuples(
        st.integers(0, n_tenants),  # n_tenants means no tenant (a platform operator)
        st.one_of(st.none(), st.integers(0, 3)),  # division index within the tenant
        st.booleans(),  # is_active
        st.booleans(),  # is_tenant_admin
        st.booleans(),  # is_staff
    )
    users = draw(st.lists(user, min_size=1, max_size=6))
    job = st.tuples(st.integers(0, n_tenants - 1), st.one_of(st.none(), st.integers(0, 3)))
    jobs = draw(st.lists(job, max_size=16))
    return divisions, scopes, users, jobs


def build(description):
    """Create the described world in the database (inside the caller's transaction)."""
    divisions_per_tenant, scopes, user_rows, job_rows = description
    tenants = [Tenant.objects.create(name=f"T{t}", slug=f"t{t}") for t, _ in divisions_per_tenant]
    divisions = {
        (t, i): Division.objects.create(tenant=tenants[t], name=f"D{t}.{i}")
        for t, count in divisions_per_tenant
        for i in range(count)
    }
    for key, (is_everyone, listed) in scopes.items():
        scope = divisions[key].data_scope
        scope.is_everyone = is_everyone
        scope.save()
        scope.set_divisions([divisions[k] for k in listed])

    def division_of(t, i):
        return None if i is None else divisions.get((t, i % divisions_per_tenant[t][1]))

    users = []
    for n, (t, i, active, admin, staff) in enumerate(user_rows):
        has_tenant = t < len(tenants)
        users.append(
            User.objects.create(
                username=f"u{n}",
                tenant=tenants[t] if has_tenant else None,
                division=division_of(t, i) if has_tenant else None,
                is_active=active,
                is_tenant_admin=admin,
                is_staff=staff,
            )
        )
    for n, (t, i) in enumerate(job_rows):
        job = Job.objects.create(tenant=tenants[t], division=division_of(t, i), title=f"J{n}")
        JobNote.objects.create(job=job)
    return users


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
        pickable = set(Division.objects.with_jobs_visible_to(user).values_list("pk", flat=True))
    got["visible_to"] = set(Job.objects.visible_to(user).values_list("pk", flat=True))
    return got, count, exists, pickable


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
        try:
            for user in users:
                expected = oracle.visible_jobs(world, user)
                got, count, exists, pickable = paths(user, all_job_ids)
                with_division = {pk for pk in expected if world.jobs[pk][1] is not None}
                for path, ids in got.items():
                    # A reverse relation starts from a division, so it reaches assigned jobs only.
                    want = with_division if path in ("reverse", "prefetch") else expected
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
