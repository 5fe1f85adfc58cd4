"""A large generated world for benchmarks and load tests: sizes in, millions of jobs out, fast.

Tenants take turns at three visibility shapes, so one world holds every shape a benchmark
needs: "private" (every scope private: members see their own division only), "listed" (each
scope lists about 5% of the tenant's divisions) and "everyone" (about 95% of scopes are
`is_everyone`). Jobs are generated inside the database in batches (INSERT … SELECT over a
number series), which is what makes a million rows take about a minute. The newest job of
every division carries NOTES_PER_JOB notes by one of its members (the notes page's benchmark).
"""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from divisions.models import DataScope, DataScopeDivision, Division, Tenant, User
from divisions.rls import on_citus
from divisions.scoping import unscoped
from jobs.models import Job, JobNote

SHAPES = ("private", "listed", "everyone")
SLUG_PREFIX = "scale-"
BATCH = 50_000
NOTES_PER_JOB = 20
JOB_COLUMNS = "tenant_id, division_id, title, description, status, created_at, updated_at"
INSERT_ROWS = 5_000  # rows per multi-row INSERT (7 parameters each, under 65,535)
STATUSES = ("open", "scheduled", "in_progress", "done", "cancelled")
VERBS = ("Replace", "Inspect", "Install", "Repair", "Survey", "Upgrade", "Service", "Test")
THINGS = ("boiler", "wiring", "roof", "lift", "fire alarm", "pipework", "lighting", "HVAC")


@dataclass(frozen=True)
class Sizes:
    tenants: int = 3
    divisions: int = 20  # per tenant
    users: int = 2  # per division
    jobs: int = 10_000  # in all

    def check(self):
        """Raise ValueError naming the first size out of range."""
        for name, low, high in (
            ("tenants", 1, 1_000),
            ("divisions", 1, 10_000),
            ("users", 0, 1_000),
            ("jobs", 0, 50_000_000),
        ):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"--{name} must be between {low} and {high} (got {value}).")


def shape_of(tenant_index):
    return SHAPES[tenant_index % len(SHAPES)]


def scale_world_exists():
    with unscoped("seed_demo: look for a generated world"):
        return Tenant.objects.filter(slug__startswith=SLUG_PREFIX).exists()


def delete_scale_world():
    """Remove a generated world (its tenants cascade to everything else)."""
    with unscoped("seed_demo --reset: delete the generated world"), transaction.atomic():
        for tenant in Tenant.objects.filter(slug__startswith=SLUG_PREFIX):
            tenant.delete()


def seed_at_scale(sizes, progress=None, seed=1):
    """Generate the world; `progress(n)` is called as jobs are written. Returns job count."""
    sizes.check()
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    unusable = make_password(None)  # nobody signs in with a password; load tests use sessions
    written = 0
    with unscoped("seed_demo: generate a world at scale"), transaction.atomic():
        for t in range(sizes.tenants):
            shape = shape_of(t)
            tenant = Tenant.objects.create(name=f"Scale {t} ({shape})", slug=f"{SLUG_PREFIX}{t}")
            divisions = _divisions(tenant, sizes.divisions, shape, rng)
            _users(tenant, divisions, sizes.users, unusable)
            share = sizes.jobs // sizes.tenants + (1 if t < sizes.jobs % sizes.tenants else 0)
            written += _jobs(tenant, divisions, share, written, progress)
            _notes(tenant, divisions)
    return written


def seed_wide_tenant(slug, divisions, listed, jobs, seed=1):
    """One tenant of `divisions` divisions whose scopes each list `listed` others, a member
    per division and `jobs` jobs spread over them (a tenant wider than the generated world's):
    its tenant."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    with unscoped("benchmark: a tenant of many divisions"), transaction.atomic():
        tenant = Tenant.objects.create(name=f"Wide ({divisions} divisions)", slug=slug)
        made = _divisions(tenant, divisions, "listed", rng, listed=listed)
        _users(tenant, made, 1, make_password(None))
        _jobs(tenant, made, jobs, 0, None)
    return tenant


def _divisions(tenant, count, shape, rng, listed=None):
    """`count` divisions, each with a scope of `shape`; a "listed" scope lists `listed` other
    divisions (default about 5%)."""
    scopes = DataScope.objects.bulk_create(
        DataScope(tenant=tenant, is_everyone=shape == "everyone" and rng.random() < 0.95)
        for _ in range(count)
    )
    divisions = Division.objects.bulk_create(
        Division(tenant=tenant, name=f"Division {n:05d}", data_scope=scope)
        for n, scope in enumerate(scopes)
    )
    if shape == "listed" and count > 1:
        listed = listed or max(1, round(count * 0.05))
        DataScopeDivision.objects.bulk_create(
            (
                DataScopeDivision(tenant=tenant, datascope_id=d.data_scope_id, division=other)
                for d in divisions
                for other in rng.sample([o for o in divisions if o.pk != d.pk], listed)
            ),
            batch_size=5_000,
        )
    return divisions


def _users(tenant, divisions, per_division, password):
    slug = tenant.slug
    users = [
        User(
            username=f"{slug}-admin",
            tenant=tenant,
            is_tenant_admin=True,
            is_staff=True,
            password=password,
        )
    ]
    users += [
        User(username=f"{slug}-d{d}-u{u}", tenant=tenant, division=division, password=password)
        for d, division in enumerate(divisions)
        for u in range(per_division)
    ]
    User.objects.bulk_create(users, batch_size=2_000)


def _jobs(tenant, divisions, count, offset, progress):
    """Write `count` jobs spread evenly over the divisions (1% with no division) in SQL."""
    if not count:
        return 0
    slots = [value for n, division in enumerate(divisions) for value in (n, division.pk)]
    select = _jobs_sql(len(divisions))
    with connection.cursor() as cursor:
        now = timezone.now()
        for start in range(0, count, BATCH):
            end = min(start + BATCH, count)
            first, last = offset + start + 1, offset + end
            params = [tenant.pk, now, now, first, last, *slots, len(divisions)]
            if on_citus():
                _insert_rows(cursor, select, params)
            else:
                cursor.execute(f"INSERT INTO jobs_job ({JOB_COLUMNS}) {select}", params)
            if progress:
                progress(end - start)
    return count


def _case(expression, values):
    """A CASE that picks values[expression mod len(values)], written for a %s-style query."""
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"CASE {expression} %% {len(values)} {whens} END"


def _jobs_sql(slots):
    """The jobs' rows (JOB_COLUMNS) as a SELECT over a number series, the divisions taken in
    turn from a VALUES list of (slot, division id); params: tenant, now, now, first, last,
    each slot and its division, slots. A VALUES list rather than a temporary table: the app
    role may not create one (docs/security.md)."""
    values = ", ".join(["(%s, %s)"] * slots)
    if connection.vendor == "postgresql":
        created = "%s::timestamptz - (n * interval '37 seconds')"
        series = "SELECT n FROM generate_series(%s::bigint, %s::bigint) AS s(n)"
    else:
        created = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '-' || (n * 37) || ' seconds')"
        series = (
            "WITH RECURSIVE seq(n) AS (SELECT %s UNION ALL SELECT n + 1 FROM seq WHERE n < %s) "
            "SELECT n FROM seq"
        )
    title = f"{_case('n', VERBS)} || ' ' || {_case('(n / 8)', THINGS)} || ' #' || n"
    # Only this module's constants are interpolated; every value travels as a parameter.
    return (
        "SELECT %s, CASE WHEN n %% 100 = 0 THEN NULL ELSE slot.column2 END,"  # noqa: S608
        f" {title}, '', {_case('(n / 3)', STATUSES)}, {created}, %s"
        f" FROM ({series}) AS numbers JOIN (VALUES {values}) AS slot ON slot.column1 = n %% %s"
    )


def _insert_rows(cursor, select, params):
    """Insert the jobs `select` makes as multi-row INSERTs. On a Citus cluster an INSERT …
    SELECT whose SELECT reads no distributed table is pulled to the coordinator and copied
    to the shards, and COPY is refused into a table under row-level security; the rows of one
    tenant's INSERT go to its one shard."""
    cursor.execute(select, params)
    rows = cursor.fetchall()
    marks = "(" + ", ".join(["%s"] * len(JOB_COLUMNS.split(", "))) + ")"
    for start in range(0, len(rows), INSERT_ROWS):
        chunk = rows[start : start + INSERT_ROWS]
        cursor.execute(
            f"INSERT INTO jobs_job ({JOB_COLUMNS}) VALUES {', '.join([marks] * len(chunk))}",  # noqa: S608
            [value for row in chunk for value in row],
        )


def _notes(tenant, divisions):
    """NOTES_PER_JOB notes on the newest job of each division, by its first member."""
    notes = []
    authors = {
        user.division_id: user
        for user in User.objects.filter(tenant=tenant)
        .order_by("-pk")
        .only("pk", "username", "division_id")
    }
    for division in divisions:
        newest = Job.objects.filter(division=division).order_by("-created_at", "-pk").first()
        if newest is None:
            continue
        author = authors.get(division.pk)
        notes += [
            JobNote(
                tenant=tenant,
                job=newest,
                author=author,
                author_name=author.username if author else "",
                body=f"Visit {n + 1}: {THINGS[n % len(THINGS)]} checked, details on site.",
                created_at=newest.created_at + timedelta(hours=n + 1),
            )
            for n in range(NOTES_PER_JOB)
        ]
    JobNote.objects.bulk_create(notes, batch_size=2_000)
