"""
Benchmark: the job list query (first page + count) with row-level security on and off.

    .venv/bin/python benchmarks/rls_job_list.py [--jobs 250000] [--repeat 200]

Starts a throwaway PostgreSQL 15 (as tests/postgres_server.py does), creates the roles and the
schema, loads tenants, divisions, scopes and --jobs jobs, then times the ORM's list query for
a division member and a tenant admin, side by side:

- RLS on, per request: BEGIN, the signed principal, first page, count, COMMIT (app role);
- RLS on, queries only: first page and count inside an open scope (app role);
- RLS off: the same SQL (the ORM filter is applied either way) as a superuser, which bypasses
  row-level security.

The ratio "on / off" is the price of the database enforcing the rule a second time.
"""

import argparse
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.postgres_server import ThrowawayServer, url_with  # noqa: E402

TENANTS, DIVISIONS_PER_TENANT, PAGE = 4, 25, 20


def prepare(admin_url, env):
    for command in (["create_db_roles"], ["migrate", "--noinput", "-v", "0"]):
        run_env = dict(env)
        if command[0] == "migrate":
            run_env["DATABASE_URL"] = env["DATABASE_MIGRATE_URL"]
        subprocess.run(  # noqa: S603 - this interpreter, our manage.py
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=run_env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def load(jobs):
    """A realistic spread: scopes open to everyone, listed divisions, unassigned jobs."""
    from django.db import connections

    from divisions.models import Division, Tenant, User
    from divisions.scoping import unscoped

    with unscoped("benchmark data"):
        for t in range(TENANTS):
            tenant = Tenant.objects.create(name=f"Tenant {t}", slug=f"tenant-{t}")
            divisions = [
                Division.objects.create(tenant=tenant, name=f"Division {t}.{d}")
                for d in range(DIVISIONS_PER_TENANT)
            ]
            for d, division in enumerate(divisions):
                scope = division.data_scope
                scope.is_everyone = d % 10 == 0
                scope.save()
                scope.set_divisions([divisions[(d + k) % len(divisions)] for k in (1, 7)])
        member_division = Division.objects.filter(tenant__slug="tenant-0").order_by("pk")[3]
        member = User.objects.create(
            username="member", tenant=member_division.tenant, division=member_division
        )
        admin = User.objects.create(
            username="admin", tenant=member_division.tenant, is_tenant_admin=True, is_staff=True
        )
    with connections["bypass"].cursor() as cursor:
        cursor.execute(
            """
            WITH ds AS (SELECT array_agg(id ORDER BY id) AS ids,
                               array_agg(tenant_id ORDER BY id) AS tenants
                        FROM divisions_division)
            INSERT INTO jobs_job (tenant_id, division_id, title, description, status,
                                  created_at, updated_at)
            SELECT ds.tenants[1 + g %% cardinality(ds.ids)],
                   CASE WHEN g %% 50 = 0 THEN NULL ELSE ds.ids[1 + g %% cardinality(ds.ids)] END,
                   'Job ' || g, '', 'open',
                   now() - make_interval(secs => (g * 7919) %% 31536000), now()
            FROM ds, generate_series(1, %s) AS g
            """,
            [jobs],
        )
        cursor.execute("ANALYZE")
    return member, admin


def timed(functions, repeat):
    """Median milliseconds of each function, run in alternation so that noise from other
    processes on the machine falls on all of them alike."""
    samples = [[] for _ in functions]
    for function in functions:
        function()  # warm the caches and the plans
    for _ in range(repeat):
        for function, times in zip(functions, samples, strict=True):
            started = time.perf_counter()
            function()
            times.append((time.perf_counter() - started) * 1000)
    return [statistics.median(times) for times in samples]


def measure(user, repeat):
    from divisions.scoping import acting_as
    from jobs.models import Job

    def page_and_count(using="default"):
        queryset = Job.objects.all().using(using)
        return list(queryset[:PAGE]), queryset.count()

    def per_request():
        with acting_as(user):
            page_and_count()

    def in_scope(using):
        def run():
            with acting_as(user):
                page_and_count(using)

        return run

    with acting_as(user):
        visible = Job.objects.count()
        assert page_and_count("bypass")[1] == visible, "the ORM filter alone gives the same rows"

    # The queries-only figure subtracts the transaction and principal statements, measured
    # on their own with an empty scope.
    def scope_only():
        with acting_as(user):
            pass

    on_request, off_request, scope_cost = timed(
        [per_request, in_scope("bypass"), scope_only], repeat
    )
    return visible, on_request, on_request - scope_cost, off_request - scope_cost


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--jobs", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    server = ThrowawayServer()
    try:
        admin_url = server.start()
        database = "bench_proone"
        env = dict(
            os.environ,
            SECRET_KEY=secrets.token_urlsafe(32),
            DEBUG="0",
            MIGRATIONS_REQUIRE_SIGNOFF="0",
            DJANGO_SETTINGS_MODULE="proone.settings",
            DATABASE_ADMIN_URL=admin_url,
            DATABASE_URL=url_with(admin_url, "bench_app", secrets.token_urlsafe(16), database),
            DATABASE_MIGRATE_URL=url_with(
                admin_url, "bench_owner", secrets.token_urlsafe(16), database
            ),
        )
        prepare(admin_url, env)
        os.environ.update(env)
        import django
        import environ
        from django.conf import settings

        settings.DATABASES["bypass"] = environ.Env.db_url_config(
            url_with(admin_url, "postgres", server.password, database)
        )
        django.setup()
        started = time.perf_counter()
        member, admin = load(args.jobs)
        print(f"loaded {args.jobs} jobs in {time.perf_counter() - started:.1f}s")
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, PostgreSQL 15 (fsync off)"
        )
        print()
        print(
            "| user | visible jobs | RLS on, per request (ms) | RLS on, queries (ms) "
            "| RLS off (ms) | on/off (queries) | on/off (request) |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, user in (("division member", member), ("tenant admin", admin)):
            visible, on_request, on_queries, off = measure(user, args.repeat)
            print(
                f"| {name} | {visible} | {on_request:.2f} | {on_queries:.2f} | {off:.2f} "
                f"| {on_queries / off:.2f} | {on_request / off:.2f} |"
            )
    finally:
        from django.db import connections

        connections.close_all()
        server.stop()


if __name__ == "__main__":
    main()
