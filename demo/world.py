"""A small, readable demo world: two tenants, their divisions, scopes, users and jobs."""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from divisions.grants import make_manager, tenant_admin_group
from divisions.models import Division, Tenant, User
from divisions.scoping import unscoped
from jobs.models import Job, JobNote

DEMO_PASSWORD = "proone-demo"  # noqa: S105 - demo data only; seed_demo refuses when DEBUG is off

# tenant slug -> (name, {division: (is_everyone, [listed divisions])})
WORLD = {
    "acme": (
        "Acme Builders",
        {
            "Head Office": (False, []),
            "Electrical": (False, ["Head Office", "Sparks Subcontracting"]),
            "Plumbing": (True, []),
            "Sparks Subcontracting": (False, []),
        },
    ),
    "globex": (
        "Globex Facilities",
        {
            "Operations": (False, ["Field Crew"]),
            "Field Crew": (True, []),
        },
    ),
}

# username -> (tenant slug or None, division or None, role, what they see)
LOGINS = {
    "acme-admin": ("acme", None, "tenant admin", "every Acme job; manages Acme in /admin/"),
    "acme-manager": (
        "acme",
        "Electrical",
        "division manager",
        "Electrical + Plumbing jobs; edits Electrical's scope in /admin/",
    ),
    "alice": ("acme", "Head Office", "member", "Head Office + Electrical + Plumbing jobs"),
    "sam-sparks": (
        "acme",
        "Sparks Subcontracting",
        "subcontractor",
        "Sparks + Electrical + Plumbing jobs, nothing else",
    ),
    "globex-admin": ("globex", None, "tenant admin", "every Globex job"),
    "gina": ("globex", "Field Crew", "member", "Operations + Field Crew jobs"),
    "operator": (None, None, "platform operator", "no jobs; administers all tenants"),
}

# division -> who writes the demo's notes on its newest jobs (a member, or the tenant's admin)
NOTE_AUTHORS = {
    "Head Office": "alice",
    "Electrical": "acme-manager",
    "Plumbing": "acme-admin",
    "Sparks Subcontracting": "sam-sparks",
    "Operations": "globex-admin",
    "Field Crew": "gina",
}
NOTES = [
    "Access via the side gate; the key is at reception.",
    "Parts ordered, arriving Thursday.",
    "The customer asked for a morning visit.",
]

TITLES = ["Replace", "Inspect", "Install", "Repair", "Survey", "Upgrade", "Service", "Test"]
THINGS = ["boiler", "wiring", "roof", "lift", "fire alarm", "pipework", "lighting", "HVAC"]
PLACES = ["Block A", "Warehouse 3", "North site", "Reception", "Car park", "Level 2"]


@dataclass
class SeedResult:
    created: bool
    jobs: int


def seed_demo(jobs_per_division=60, seed=1):
    """Create the demo world once; running it again changes nothing."""
    with unscoped("seed demo data"), transaction.atomic():
        if Tenant.objects.filter(slug__in=WORLD).exists():
            return SeedResult(created=False, jobs=0)
        rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
        now = timezone.now()
        divisions = {}
        for slug, (name, layout) in WORLD.items():
            tenant = Tenant.objects.create(name=name, slug=slug)
            for division_name in layout:
                divisions[slug, division_name] = Division.objects.create(
                    tenant=tenant, name=division_name
                )
            for division_name, (is_everyone, listed) in layout.items():
                scope = divisions[slug, division_name].data_scope
                scope.is_everyone = is_everyone
                scope.save()
                scope.set_divisions([divisions[slug, other] for other in listed])
        jobs = []
        for division in divisions.values():
            for _ in range(jobs_per_division):
                jobs.append(
                    Job(
                        tenant_id=division.tenant_id,
                        division=division,
                        title=f"{rng.choice(TITLES)} {rng.choice(THINGS)}, {rng.choice(PLACES)}",
                        description="Demo job.",
                        status=rng.choice(Job.Status.values),
                        created_at=now - timedelta(minutes=rng.randint(0, 60 * 24 * 90)),
                    )
                )
        for slug in WORLD:
            tenant = Tenant.objects.get(slug=slug)
            jobs.append(Job(tenant=tenant, title="Unassigned enquiry", status=Job.Status.OPEN))
        Job.objects.bulk_create(jobs)
        admins = tenant_admin_group()
        for username, (slug, division_name, role, _) in LOGINS.items():
            user = User(
                username=username,
                tenant=Tenant.objects.get(slug=slug) if slug else None,
                division=divisions[slug, division_name] if division_name else None,
                is_tenant_admin=role == "tenant admin",
                is_staff=role in ("tenant admin", "division manager", "platform operator"),
                is_superuser=role == "platform operator",
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            if role == "tenant admin":
                user.groups.add(admins)
            if role == "division manager":
                make_manager(user, user.division.data_scope)
        _notes(divisions, jobs, now)
        return SeedResult(created=True, jobs=len(jobs))


def _notes(divisions, jobs, now):
    """One to three notes on each division's three newest jobs, by NOTE_AUTHORS."""
    authors = {
        user.username: user for user in User.objects.filter(username__in=NOTE_AUTHORS.values())
    }
    notes = []
    for (_, name), division in divisions.items():
        author = authors[NOTE_AUTHORS[name]]
        own = [job for job in jobs if job.division_id == division.pk]
        newest = sorted(own, key=lambda job: job.created_at, reverse=True)[:3]
        for i, job in enumerate(newest):
            notes += [
                JobNote(
                    tenant_id=job.tenant_id,
                    job=job,
                    author=author,
                    author_name=author.username,
                    body=body,
                    created_at=min(now, job.created_at + timedelta(minutes=10 * (k + 1))),
                )
                for k, body in enumerate(NOTES[: i + 1])
            ]
    JobNote.objects.bulk_create(notes)
