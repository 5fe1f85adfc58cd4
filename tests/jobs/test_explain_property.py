"""Property: on random worlds, both explain answers (who can see a job, what a user can see)
equal what the oracle says, case by case."""

from django.db import transaction
from hypothesis import HealthCheck, given, settings

from divisions.scoping import acting_as, unscoped
from divisions.visibility.explain import CASES, NAMES_SHOWN
from jobs.explain import what_sees, who_sees
from jobs.models import Job
from tests import oracle
from tests.strategies import build, worlds


def expected_audience(world, users, job_id):
    """{case: (how many, the first names)} of the users the oracle lets see the job."""
    division_id = world.jobs[job_id][1]
    names = {}
    for user in users:
        if oracle.may_see(world, user, job_id):
            names.setdefault(oracle.case_of(world, user, division_id), []).append(user.username)
    return {case: (len(found), tuple(sorted(found)[:NAMES_SHOWN])) for case, found in names.items()}


def expected_sight(world, user):
    """{division id (None: no division): (case, jobs)} of what the oracle lets `user` see."""
    jobs = {}
    for job_id in oracle.visible_jobs(world, user):
        division_id = world.jobs[job_id][1]
        jobs[division_id] = jobs.get(division_id, 0) + 1
    sight = {
        division_id: (oracle.case_of(world, user, division_id), jobs.get(division_id, 0))
        for division_id in oracle.pickable_divisions(world, user)
    }
    if jobs.get(None):
        sight[None] = (oracle.case_of(world, user, None), jobs[None])
    return sight


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(description=worlds())
def test_both_explain_answers_match_the_oracle(db, description):
    # As support staff run them (manage.py explain_access): unscoped system work.
    with unscoped("property test world"), transaction.atomic():
        users = build(description)
        world = oracle.snapshot()
        try:
            jobs = list(Job.objects.all())
            answers = {job.pk: who_sees(job) for job in jobs}
            sights = {user.pk: what_sees(user) for user in users}
            for job in jobs:
                groups = answers[job.pk]
                assert [group.case for group in groups] == [
                    case for case in CASES if case in {group.case for group in groups}
                ]
                got = {group.case: (group.users, group.names) for group in groups}
                assert got == expected_audience(world, users, job.pk), job.title
            for user in users:
                sight = sights[user.pk]
                got = {
                    None if row.division is None else row.division.pk: (row.case, row.jobs)
                    for row in sight
                }
                assert got == expected_sight(world, user), user.username
                named = [row.division.name for row in sight if row.division is not None]
                assert named == sorted(named)
            # As the admin's pages ask them: inside a tenant admin's principal (on PostgreSQL
            # row-level security then shows that tenant's rows only), the same answers.
            for admin in users:
                if not (oracle.is_principal(admin) and oracle.is_tenant_admin(admin)):
                    continue
                with acting_as(admin):
                    for job in jobs:
                        if job.tenant_id == admin.tenant_id:
                            assert who_sees(job) == answers[job.pk], job.title
                    for user in users:
                        if user.tenant_id == admin.tenant_id:
                            assert what_sees(user) == sights[user.pk], user.username
        finally:
            transaction.set_rollback(True)
