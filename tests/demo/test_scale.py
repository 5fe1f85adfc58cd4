"""seed_demo at scale: the sizes asked for, every visibility shape, clear errors."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from demo.scale import NOTES_PER_JOB, Sizes, seed_at_scale, seed_wide_tenant
from divisions.models import DataScopeDivision, Division, Tenant, User
from divisions.scoping import acting_as, unscoped
from jobs.models import Job, JobNote
from tests import oracle


def test_generates_the_sizes_asked_for(db):
    call_command(
        "seed_demo", "--tenants", "3", "--divisions", "5", "--users", "2", "--jobs", "1001"
    )
    with unscoped("check"):
        assert Tenant.objects.count() == 3
        assert Division.objects.count() == 15
        assert User.objects.count() == 3 * (1 + 5 * 2)
        assert Job.objects.count() == 1001
        assert Job.objects.filter(division=None).count() == 10  # every hundredth job
        per_tenant = sorted(Job.objects.filter(tenant=t).count() for t in Tenant.objects.all())
        assert per_tenant == [333, 334, 334]
        mixed = set(Job.objects.values_list("status", flat=True))
        assert mixed == set(Job.Status.values)
        assert not User.objects.get(username="scale-0-admin").has_usable_password()
        # The newest job of every division carries the notes page's notes, by a member.
        assert JobNote.objects.count() == 15 * NOTES_PER_JOB
        for division in Division.objects.all():
            newest = Job.objects.filter(division=division).order_by("-created_at", "-pk")[0]
            notes = JobNote.objects.filter(job=newest)
            assert notes.count() == NOTES_PER_JOB
            assert {note.author.division_id for note in notes} == {division.pk}


def test_each_tenant_has_its_shape_and_scoping_matches_the_oracle(db):
    seed_at_scale(Sizes(tenants=3, divisions=40, users=1, jobs=2_000))
    with unscoped("check"):
        world = oracle.snapshot()
        private, listed, everyone = (Tenant.objects.get(slug=f"scale-{t}") for t in range(3))
        assert not DataScopeDivision.objects.filter(tenant=private).exists()
        # 5% of 40 divisions: each listed-shape scope lists two others.
        assert DataScopeDivision.objects.filter(tenant=listed).count() == 40 * 2
        assert Division.objects.filter(tenant=everyone, data_scope__is_everyone=True).count() > 30
        users = list(User.objects.filter(tenant__slug__startswith="scale-"))
    for user in users:
        with acting_as(user):
            got = set(Job.objects.values_list("pk", flat=True))
        assert got == oracle.visible_jobs(world, user), user.username
    member = next(u for u in users if u.tenant_id == private.pk and u.division_id)
    assert Job.objects.visible_to(member).exclude(division_id=member.division_id).count() == 0


def test_refuses_a_second_world_without_reset(db):
    call_command("seed_demo", "--jobs", "10", "--divisions", "2")
    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_demo", "--jobs", "10")
    call_command("seed_demo", "--jobs", "20", "--divisions", "2", "--reset")
    with unscoped("check"):
        assert Job.objects.count() == 20


@pytest.mark.parametrize(
    ("option", "value"), [("--tenants", "0"), ("--divisions", "-1"), ("--jobs", "-5")]
)
def test_bad_sizes_are_clear_errors(db, option, value):
    with pytest.raises(CommandError, match=option):
        call_command("seed_demo", option, value)
    with unscoped("check"):
        assert not Tenant.objects.exists()


def test_a_wide_tenant_has_its_sizes_and_scoping_matches_the_oracle(db):
    tenant = seed_wide_tenant("wide-0", divisions=60, listed=20, jobs=600)
    with unscoped("check"):
        world = oracle.snapshot()
        assert Division.objects.filter(tenant=tenant).count() == 60
        assert DataScopeDivision.objects.filter(tenant=tenant).count() == 60 * 20
        assert Job.objects.filter(tenant=tenant).count() == 600
        users = list(User.objects.filter(tenant=tenant, is_tenant_admin=False).order_by("pk")[:5])
    assert len(users) == 5
    for user in users:
        with acting_as(user):
            got = set(Job.objects.values_list("pk", flat=True))
        # Its own division and the 20 its scope lists: 21 of 60 divisions' jobs.
        assert got == oracle.visible_jobs(world, user), user.username
        assert 0 < len(got) < 600
