"""
`make bench`: the job list at scale on PostgreSQL, scoped against unscoped, and under load.

    .venv/bin/python -m benchmarks.run [--jobs 1000000] [--repeat 30] [--load-seconds 20]

Starts a throwaway PostgreSQL 15 (tests/postgres_server.py), creates the roles, migrates as
the owner, generates a world with `manage.py seed_demo` as the app role, then measures on
that one world and writes docs/benchmarks.md (--output): the list query by visibility shape,
whole pages (list, detail, the notes page, sorted lists), title search, the signed principal
against an unsigned one, django-guardian, the CSV export's time and memory (a process per
measurement, benchmarks/export.py), load through gunicorn against its unscoped floor (direct
and through PgBouncer), load with the reads on a hot standby against the primary alone, and
pages and a status change under the write rule's policies against one policy for every command
(benchmarks/writes.py), the admin's access matrix against the DataScope page
(benchmarks/access_matrix.py), the DataScope page's preview of a change against the page
(benchmarks/scope_preview.py), and the same world on a Citus cluster beside the single node:
pages, load and a tenant of 2,000 divisions (benchmarks/citus.py). See that file for what
each row is.
"""

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager, nullcontext
from datetime import date
from pathlib import Path

from benchmarks.measure import paired_spread, summary, timed
from tests.postgres_server import (
    PgBouncer,
    Standby,
    ThrowawayServer,
    create_replication_role,
    url_with,
)

ROOT = Path(__file__).resolve().parent.parent

PAGE = 26  # the list page fetches PER_PAGE + 1 rows
# The two portals of the load run (benchmarks/unscoped_wsgi.py is the second).
SCOPED = "scoped, RLS on"
UNSCOPED = "unscoped (tenant filter only, RLS off)"
PARTS = (
    "queries",
    "pages",
    "search",
    "peer",
    "guardian",
    "export",
    "load",
    "replica",
    "writes",
    "matrix",
    "preview",
    "citus",
)
NOTES_ON_PAGE = 20  # demo.scale.NOTES_PER_JOB: the notes page's job carries that many
SHAPES = (
    ("own division only", "scale-0-d3-u0"),
    ("scope list ~5%", "scale-1-d3-u0"),
    ("is_everyone ~95%", "scale-2-d3-u0"),
    ("tenant admin", "scale-0-admin"),
)
# Title searches (`q`): a term on about one job in eight, and one on a handful of jobs.
SEARCHES = (("common term", "boiler"), ("selective term", "#12345"))
# The write rule's policies against the single policy (benchmarks/writes.py): a member, who
# changes the status of its own division's jobs, and a tenant admin, who writes any of them.
WRITERS = (SHAPES[0], SHAPES[3])


def measured_users(shapes=SHAPES):
    """(shape, user) for each of `shapes` ((shape, username) pairs), each user loaded as a
    request loads it (divisions.middleware): with the divisions whose jobs it may see, which
    its scoped queries then name as a list (divisions.visibility.loaded_divisions)."""
    from divisions.models import User
    from divisions.scoping import unscoped
    from divisions.visibility.loaded_divisions import with_visible_divisions

    with unscoped("benchmark: the measured users"):
        return [
            (shape, with_visible_divisions(lambda name=name: User.objects.get(username=name)))
            for shape, name in shapes
        ]


def manage(env, *args, database_url=None):
    run_env = dict(env, DATABASE_URL=database_url or env["DATABASE_URL"])
    subprocess.run(  # noqa: S603 - this interpreter, our manage.py
        [sys.executable, "manage.py", *args], cwd=ROOT, env=run_env, check=True
    )


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        memory_kb = 0
    return f"{cpu}, {os.cpu_count()} cores, {memory_kb / 1024 / 1024:.1f} GiB memory"


@contextmanager
def default_is(alias):
    """Route the ORM's default database to another connection (the superuser, which bypasses
    row-level security) for the block: the same code, RLS off."""
    from django.db import connections

    saved = connections["default"]
    connections["default"] = connections[alias]
    try:
        yield
    finally:
        connections["default"] = saved


def list_ops(queryset_of):
    """The list page's queries (first page + capped count) and, apart, the full count."""
    from jobs.pagination import capped_count

    def page_and_count():
        queryset = queryset_of()
        list(queryset.select_related("division").order_by("-created_at", "-pk")[:PAGE])
        capped_count(queryset)

    def full_count():
        queryset_of().order_by().count()

    return page_and_count, full_count


def variants(user):
    """name -> (context to run in, queryset factory) for one user: the same data each time."""
    from django.db.models import QuerySet

    from divisions.scoping import acting_as, is_tenant_admin
    from divisions.visibility.visible_divisions import divisions_with_visible_jobs
    from jobs.models import Job

    def floor():
        return QuerySet(Job).filter(tenant_id=user.tenant_id)

    def scoped():
        return Job.objects.all()

    def two_queries():
        # Round trip 1: the user's visible divisions; round trip 2: filter jobs by that list.
        if is_tenant_admin(user):
            return QuerySet(Job).filter(tenant_id=user.tenant_id)
        ids = list(divisions_with_visible_jobs(user).values_list("pk", flat=True))
        return QuerySet(Job).filter(tenant_id=user.tenant_id, division_id__in=ids)

    def off(inner):
        @contextmanager
        def context():
            with default_is("bypass"), acting_as(user):
                yield

        return context, inner

    def on(inner):
        return (lambda: acting_as(user)), inner

    return {
        "unscoped (floor)": off(floor),
        "scoped ORM, RLS off": off(scoped),
        "scoped ORM, RLS on": on(scoped),
        "RLS alone (floor SQL, principal set)": on(floor),
        "two round trips, RLS off": off(two_queries),
    }


def measure_queries(users, repeat):
    """rows: (shape, variant, visible, page median, page p95, count median, count p95)."""
    rows = []
    for shape, user in users:
        chosen = variants(user)
        functions, names = [], []
        for name, (context, queryset_of) in chosen.items():
            page, count = list_ops(queryset_of)
            functions += [in_context(context, page), in_context(context, count)]
            names.append(name)
        samples = timed(functions, repeat)
        visible = count_visible(user)
        for i, name in enumerate(names):
            page, count = summary(samples[2 * i]), summary(samples[2 * i + 1])
            rows.append((shape, name, visible, *page, *count))
    return rows


def in_context(context, function):
    def run():
        with context():
            function()

    return run


def count_visible(user):
    from divisions.scoping import acting_as
    from jobs.models import Job

    with default_is("bypass"), acting_as(user):
        return Job.objects.count()


def guardian_rows(users, repeat):
    """Per-job grants for the measured users, then get_objects_for_user against scoped ORM."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connections
    from django.db.models import QuerySet
    from guardian.shortcuts import get_objects_for_user

    from divisions.scoping import acting_as
    from jobs.models import Job

    started = time.perf_counter()
    with default_is("bypass"):
        content_type = ContentType.objects.get_for_model(Job)
        permission = Permission.objects.get(content_type=content_type, codename="view_job")
        grants = 0
        for _, user in users:
            with acting_as(user):
                sql, params = Job.objects.order_by().values("pk").query.sql_with_params()
            with connections["bypass"].cursor() as cursor:
                cursor.execute(
                    "INSERT INTO guardian_userobjectpermission"  # noqa: S608 - ORM-made SQL
                    " (permission_id, user_id, content_type_id, object_pk)"
                    f" SELECT %s, %s, %s, v.id::text FROM ({sql}) AS v(id)",
                    [permission.pk, user.pk, content_type.pk, *params],
                )
                grants += cursor.rowcount
        with connections["bypass"].cursor() as cursor:
            cursor.execute("ANALYZE guardian_userobjectpermission")
    setup = time.perf_counter() - started
    rows = []
    for shape, user in users:

        def guardian_page(user=user):
            with default_is("bypass"):
                queryset = get_objects_for_user(
                    user, "jobs.view_job", klass=QuerySet(Job), with_superuser=False
                )
                list(queryset.order_by("-created_at", "-pk")[:PAGE])
                queryset.order_by()[:1001].count()

        def scoped_page(user=user):
            with default_is("bypass"), acting_as(user):
                queryset = Job.objects.all()
                list(queryset.order_by("-created_at", "-pk")[:PAGE])
                queryset.order_by()[:1001].count()

        g, s = timed([guardian_page, scoped_page], max(5, repeat // 3))
        rows.append((shape, *summary(g), *summary(s)))
    return grants, setup, rows


def page_rows(users, repeat):
    """The whole list and detail pages through Django's test client, and queries per page."""
    from unittest import mock

    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from divisions.managers import ScopedManager
    from divisions.scoping import acting_as
    from jobs.managers import JobManager
    from jobs.models import Job

    # The tenant half alone: what a page costs without the division rule.
    unscoped_rule = mock.patch.object(JobManager, "scope_filter", ScopedManager.scope_filter)
    rows = []
    for shape, user in users:
        client = Client()
        client.force_login(user)
        with acting_as(user):
            job_id, division_id = Job.objects.order_by("-created_at", "-pk").values_list(
                "pk", "division_id"
            )[0]
            noted = noted_job(NOTES_ON_PAGE)
        cases = {
            "unscoped page (tenant filter only, RLS off)": lambda: (
                default_is("bypass"),
                unscoped_rule,
            ),
            "scoped page, RLS off": lambda: (default_is("bypass"), nullcontext()),
            "scoped page, RLS on": lambda: (nullcontext(), nullcontext()),
        }
        paths = {
            "list": "/jobs/",
            "detail": f"/jobs/{job_id}/",
            f"notes page ({NOTES_ON_PAGE} notes)": f"/jobs/{noted}/",
            "list, sort=title": "/jobs/?sort=title",
            "list, sort=status": "/jobs/?sort=status",
            "list, status=open": "/jobs/?status=open",
            "list, one division": f"/jobs/?division={division_id}",
            f"search, q={SEARCHES[0][1]}": f"/jobs/?q={SEARCHES[0][1]}",
        }
        for kind, path in paths.items():
            functions, queries = [], []
            for make in cases.values():

                def get(make=make, path=path, client=client):
                    first, second = make()
                    with first, second:
                        response = client.get(path)
                    assert response.status_code == 200, (path, response.status_code)

                functions.append(get)
                first, second = make()
                with first, second:
                    with CaptureQueriesContext(connections["default"]) as captured:
                        client.get(path)
                    queries.append(len(captured))
            samples = timed(functions, repeat)
            by_name = dict(zip(cases, samples, strict=True))
            spread = paired_spread(by_name["scoped page, RLS on"], by_name["scoped page, RLS off"])
            for (name, _), times, count in zip(cases.items(), samples, queries, strict=True):
                rows.append(
                    (
                        shape,
                        kind,
                        name,
                        *summary(times),
                        count,
                        spread if name.endswith("on") else None,
                    )
                )
    return rows


def noted_job(notes):
    """The newest visible job with at least `notes` notes (seed_demo writes them)."""
    from django.db.models import Count

    from jobs.models import Job

    return (
        Job.objects.annotate(notes_count=Count("notes"))
        .filter(notes_count__gte=notes)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[0]
    )


def export_rows(env, superuser_url, users):
    """The whole CSV export per shape, RLS on and off, each in a process of its own
    (benchmarks/export.py): rows (shape, variant, visible, dict of its numbers)."""
    variants = {"RLS on": env["DATABASE_URL"], "RLS off": superuser_url}
    rows = []
    for shape, user in users:
        visible = count_visible(user)
        for name, url in variants.items():
            result = subprocess.run(  # noqa: S603 - this interpreter, our module
                [sys.executable, "-m", "benchmarks.export", user.username],
                cwd=ROOT,
                env=dict(env, DATABASE_URL=url),
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"export as {user.username}, {name}: {result.stderr[-3000:]}")
            line = json.loads(result.stdout.strip().splitlines()[-1])
            if line["rows"] != visible:
                raise RuntimeError(
                    f"the export as {user.username} ({name}) had {line['rows']} rows, "
                    f"{visible} visible"
                )
            rows.append((shape, name, visible, line))
    return rows


def search_rows(users, repeat):
    """rows: (shape, search, variant, median, p95): the list's first page and its total (as
    the list view gets them) for a title search, the floor's SQL against the view's own
    queryset."""
    from django.db.models import QuerySet

    from divisions.scoping import acting_as
    from jobs.models import Job
    from jobs.pagination import page_of, page_total
    from jobs.views import filtered_jobs

    rows = []
    for shape, user in users:
        for search, term in SEARCHES:

            def floor(term=term, user=user):
                with default_is("bypass"), acting_as(user):
                    jobs = QuerySet(Job).filter(tenant_id=user.tenant_id, title__icontains=term)
                    page_total(page_of(jobs.select_related("division"), None), jobs)

            def listed(term=term, user=user):
                with acting_as(user):
                    jobs = filtered_jobs({"q": term, "status": "", "division": None})
                    page_total(page_of(jobs, None), jobs)

            def listed_off(term=term, user=user):
                with default_is("bypass"):
                    listed(term, user)

            cases = {
                "unscoped (floor)": floor,
                "scoped list, RLS off": listed_off,
                "scoped list, RLS on": listed,
            }
            samples = timed(list(cases.values()), repeat)
            for name, times in zip(cases, samples, strict=True):
                rows.append((shape, search, name, *summary(times)))
    return rows


def write_rows(users, owner_url, repeat):
    """rows: (shape, page, wall, CPU), each of wall and CPU (single policy's median, write
    rule's median, per round spread of write rule's over single policy's), CPU None where it
    cannot be read: the pages a user reads and the status change it posts, under both policy
    sets in alternation (benchmarks/writes.py)."""
    from statistics import median

    from django.db.models import QuerySet
    from django.test import Client

    from benchmarks import writes
    from divisions.scoping import acting_as, is_tenant_admin
    from jobs.models import Job, JobNote

    functions, names, posted = [], [], {}
    for shape, user in users:
        client = Client()
        client.force_login(user)
        with acting_as(user):
            newest = Job.objects.order_by("-created_at", "-pk")
            job_id = newest.values_list("pk", flat=True)[0]
            noted = noted_job(NOTES_ON_PAGE)
            writable = newest
            if not is_tenant_admin(user):
                writable = newest.filter(division_id=user.division_id)
            # A job of its own that neither the pages read nor another user posts to.
            changed = writable.exclude(pk__in=[job_id, noted, *posted])
            changed_id, status = changed.values_list("pk", "status")[0]
        posted[changed_id] = 0
        paths = {
            "list": "/jobs/",
            f"search, q={SEARCHES[0][1]}": f"/jobs/?q={SEARCHES[0][1]}",
            "detail": f"/jobs/{job_id}/",
            f"notes page ({NOTES_ON_PAGE} notes)": f"/jobs/{noted}/",
        }
        for page, path in paths.items():

            def get(client=client, path=path):
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)

            functions.append(get)
            names.append((shape, page))
        functions.append(status_change(client, user, changed_id, status, posted))
        names.append((shape, "status change (POST)"))
    with default_is("bypass"):
        before = QuerySet(JobNote).filter(job_id__in=posted).count()
    samples = writes.alternate(owner_url, functions, repeat)
    with default_is("bypass"):
        added = QuerySet(JobNote).filter(job_id__in=posted).count() - before
    if added != sum(posted.values()):
        raise RuntimeError(f"{sum(posted.values())} status changes posted, {added} notes added")
    single, per_command = samples[writes.ONE_POLICY], samples[writes.PER_COMMAND]
    rows = []
    for (shape, page), a, b in zip(names, single, per_command, strict=True):
        (wall_a, cpu_a), (wall_b, cpu_b) = zip(*a, strict=True), zip(*b, strict=True)
        cpu = None
        if None not in cpu_a + cpu_b:
            cpu = (median(cpu_a), median(cpu_b), paired_spread(cpu_b, cpu_a))
        rows.append(
            (shape, page, (median(wall_a), median(wall_b), paired_spread(wall_b, wall_a)), cpu)
        )
    return rows


def status_change(client, user, job_id, status, posted):
    """A function posting the job's status form as its page sends it (the status seen, a
    fresh one-use token), each time to a status other than the job's (so that each post
    writes the job and a note); counts its posts in posted[job_id]."""
    from jobs.models import Job
    from submits import tokens

    other = Job.Status.DONE if status != Job.Status.DONE else Job.Status.OPEN
    state = {"status": status}
    path = f"/jobs/{job_id}/status/"

    def post():
        seen = state["status"]
        state["status"] = other if seen == status else status
        form = {"status": state["status"], "seen": seen, tokens.FIELD: tokens.issue(user)}
        response = client.post(path, form)
        assert response.status_code == 302, (path, response.status_code)
        posted[job_id] += 1

    return post


def visitors_for_load(per_shape, with_tokens=False):
    """Signed-in users of many divisions, each with the oracle's verdict on job ids (and with
    an API token each, `with_tokens`)."""
    from django.db.models import QuerySet

    from benchmarks.load import Visitor
    from divisions.models import User
    from divisions.scoping import unscoped
    from tests import oracle

    world = oracle.snapshot()
    by_tenant = {}
    for pk, (tenant_id, _) in world.jobs.items():
        by_tenant.setdefault(tenant_id, []).append(pk)
    visitors = []
    for prefix in ("scale-0-", "scale-1-", "scale-2-"):
        with unscoped("benchmark: signed-in visitors"):
            users = list(
                QuerySet(User).filter(username__startswith=prefix).order_by("pk")[: per_shape + 1]
            )
        for user in users:
            jobs = by_tenant.get(user.tenant_id, [])[:4000]
            visible = [pk for pk in jobs if oracle.may_see(world, user, pk)][:50]
            hidden = [pk for pk in jobs if not oracle.may_see(world, user, pk)][:50]
            visitors.append(
                Visitor(
                    user.username,
                    signed_in(user),
                    lambda pk, user=user: oracle.may_see(world, user, pk),
                    visible,
                    hidden,
                    api_token(user) if with_tokens else "",
                )
            )
    return visitors


def signed_in(user):
    """A new session key of `user`, signed in as a request signs in."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from divisions.sessions import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def api_token(user):
    """A new API token of `user`, minted in `user`'s own scope."""
    from api import tokens
    from divisions.scoping import acting_as

    with acting_as(user):
        return tokens.mint(user, "benchmark: faults")[1]


def status_changers():
    """(visitors who may change one job's status, [that job]): two members of the job's
    division and their tenant admin, the member twice (two tabs), as the status-change run
    sends them (benchmarks.load.run_status_changes)."""
    from django.db.models import QuerySet

    from benchmarks.load import Visitor
    from divisions.models import User
    from divisions.scoping import unscoped
    from jobs.models import Job

    with unscoped("benchmark: status changers"):
        member, other, admin = (
            QuerySet(User).get(username=name)
            for name in ("scale-0-d3-u0", "scale-0-d3-u1", "scale-0-admin")
        )
        job = (
            QuerySet(Job)
            .filter(division_id=member.division_id)
            .order_by("-created_at", "-pk")
            .values_list("pk", flat=True)[1]  # the newest carries seed_demo's 20 notes
        )
    people = [Visitor(u.username, signed_in(u), None, [], []) for u in (member, admin, other)]
    return [*people, people[0]], [job]


def load_rows(env, superuser, args):
    """The load run against the portal and against its unscoped floor, direct and through
    PgBouncer: ((visitors, rows of (path, portal, result line), each floor just before its
    portal), rows of (path, line of the portal's run with faults, `fault_run`))."""
    from django.test import Client

    from benchmarks.faults import portal_url
    from benchmarks.load import Gunicorn, Result, run_load

    visitors = visitors_for_load(args.load_users // 3, with_tokens=True)
    changers, changed_jobs = status_changers()
    # Pre-flight, in this process: a session cookie made here signs a visitor in.
    client = Client()
    client.cookies["sessionid"] = visitors[0].cookie
    response = client.get("/jobs/")
    if response.status_code != 200:
        raise RuntimeError(f"a load visitor's session does not work: HTTP {response.status_code}")
    host, port, database = superuser["host"], superuser["port"], superuser["database"]
    bouncers = {
        SCOPED: PgBouncer(host, port, database, superuser["app_user"], superuser["app_password"]),
        UNSCOPED: PgBouncer(host, port, database, "postgres", superuser["password"]),
    }
    rows, fault_rows = [], []
    try:
        # Persistent connections (CONN_MAX_AGE) spare each request a connection and its SCRAM
        # handshake; tests/divisions/test_rls_pooling.py shows they never carry a principal.
        keep = f"?conn_max_age={args.conn_max_age}"  # 0 asks for Django's own default
        bouncer_urls = {}
        for portal, bouncer in bouncers.items():
            user, password = (
                (superuser["app_user"], superuser["app_password"])
                if portal == SCOPED
                else ("postgres", superuser["password"])
            )
            bouncer_port = bouncer.start()
            bouncer_urls[portal] = url_with(
                f"postgres://x:y@127.0.0.1:{bouncer_port}/postgres", user, password, database
            )
        direct = {SCOPED: env["DATABASE_URL"], UNSCOPED: superuser["url"]}
        for path, urls in (("direct", direct), ("PgBouncer (transaction mode)", bouncer_urls)):
            servers = {}
            for portal in (UNSCOPED, SCOPED):
                # The portal's connections carry the name the faults look for; its API
                # (the faults' run only) is not held back by the rate limit.
                run_env = dict(
                    env,
                    DATABASE_URL=portal_url(urls[portal] + keep),
                    API_TOKEN_RATE="1000000/minute",
                )
                app = "proone.wsgi"
                if portal == UNSCOPED:
                    run_env = dict(env, DATABASE_URL=urls[portal] + keep)
                    run_env["BENCH_UNSCOPED_PORTAL"] = "1"
                    app = "benchmarks.unscoped_wsgi"
                servers[portal] = Gunicorn(run_env, workers=args.workers, app=app)
            results = {portal: Result() for portal in servers}
            try:
                ports = {portal: server.start() for portal, server in servers.items()}
                # Both portals stay up; the load alternates between them in four stretches
                # (floor, portal, portal, floor), so that the shared machine's drift falls on
                # both alike.
                for portal in (UNSCOPED, SCOPED, SCOPED, UNSCOPED):
                    results[portal] = results[portal].add(
                        run_load(
                            ports[portal],
                            visitors,
                            args.load_seconds / 2,
                            args.load_threads,
                            args.load_max_requests // 2,
                        )
                    )
                # Then the portal alone, with faults (its log from here is read apart).
                mark = servers[SCOPED].log_size()
                line = fault_run(ports[SCOPED], visitors, changers, changed_jobs, superuser, args)
                line["raised"], line["unexplained"] = fault_exceptions(
                    servers[SCOPED].log_since(mark)
                )
                fault_rows.append((path, line))
            finally:
                for server in servers.values():
                    server.stop()
            for portal, server in servers.items():
                # Also removes the log file; the portal's without the run with faults.
                log = server.log_tail(end=mark if portal == SCOPED else None)
                result = results[portal]
                if result.errors:
                    print(f"gunicorn's log ({path}, {portal}):\n{log}")
                if portal == SCOPED:
                    for problem in result.problems:
                        print(f"load ({path}): {problem}")
                rows.append((path, portal, result.line()))
    finally:
        for bouncer in bouncers.values():
            bouncer.stop()
    return (len(visitors), rows), fault_rows


def fault_run(port, visitors, changers, job_ids, superuser, args):
    """The line of one run with faults (benchmarks.load.run_with_faults) on the portal at
    `port`: for half the load's seconds a fault every 0.4 s, terminating and cancelling the
    portal's backends as the superuser, 30% of the visitors' requests to the API, then 3 s
    without; its problems printed."""
    from benchmarks.faults import Faults
    from benchmarks.load import run_with_faults

    seconds, every = args.load_seconds / 2, 0.4
    faults = Faults(superuser["url"], every=every, count=int(seconds / every))
    run = run_with_faults(
        port, visitors, changers, job_ids, faults, seconds, args.load_threads,
        after_seconds=3, api_share=0.3, max_requests=args.load_max_requests,
    )  # fmt: skip
    for problem in [*faults.failures, *run.problems]:
        print(f"load with faults: {problem}")
    return run.line()


def fault_exceptions(log):
    """(exceptions in the log of a run with faults, those of them no fault explains)."""
    from benchmarks.faults import not_from_faults
    from benchmarks.load import exceptions_in

    raised = exceptions_in(log)
    other = not_from_faults(raised)
    for name in other:
        at = log.index(f"\n{name}:")
        print(f"load with faults, not a fault's exception: {name}\n{log[at - 5000 : at + 300]}")
    return sum(raised.values()), sum(other.values())


@contextmanager
def hot_standby(admin_url):
    """A hot standby of the benchmark's server (the tests' Standby: pg_basebackup -R)."""
    name, password = "bench_replicator", secrets.token_urlsafe(16)
    create_replication_role(admin_url, name, password)
    standby = Standby(url_with(admin_url, name, password, "postgres"))
    try:
        standby.start()
        yield standby
    finally:
        standby.stop()


def standby_transactions(standby, database):
    """Transactions the standby has served in `database` so far (its own statistics)."""
    return int(
        standby.sql(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "  # noqa: S608
            f"WHERE datname = '{database}'"
        )
        or 0
    )


PRIMARY_ONLY = "the primary alone"
ON_STANDBY = "a hot standby (DATABASE_REPLICA_URL)"


def replica_rows(env, admin_url, database, app_user, app_password, args):
    """The scoped portal under load with its reads on the primary alone and on a hot standby
    of it (divisions/replicas.py), both up, the load alternating between them as in
    load_rows: (visitors, rows of (reads from, result line), transactions the standby served
    during its stretches)."""
    from benchmarks.load import Gunicorn, Result, run_load

    visitors = visitors_for_load(args.load_users // 3)
    keep = f"?conn_max_age={args.conn_max_age}"
    with hot_standby(admin_url) as standby:
        standby_url = url_with(
            f"postgres://x:y@127.0.0.1:{standby.port}/postgres", app_user, app_password, database
        )
        urls = {
            PRIMARY_ONLY: {"DATABASE_URL": env["DATABASE_URL"] + keep},
            ON_STANDBY: {
                "DATABASE_URL": env["DATABASE_URL"] + keep,
                "DATABASE_REPLICA_URL": standby_url + keep,
            },
        }
        servers = {
            name: Gunicorn(dict(env, **url), workers=args.workers) for name, url in urls.items()
        }
        results = {name: Result() for name in servers}
        served = 0
        try:
            ports = {name: server.start() for name, server in servers.items()}
            for name in (PRIMARY_ONLY, ON_STANDBY, ON_STANDBY, PRIMARY_ONLY):
                before = standby_transactions(standby, database)
                results[name] = results[name].add(
                    run_load(
                        ports[name],
                        visitors,
                        args.load_seconds / 2,
                        args.load_threads,
                        args.load_max_requests // 2,
                    )
                )
                during = standby_transactions(standby, database) - before
                if name == ON_STANDBY:
                    served += during
                elif during:
                    print(f"load ({name}): the standby served {during} transactions")
        finally:
            for server in servers.values():
                server.stop()
    rows = []
    for name, server in servers.items():
        log = server.log_tail()  # also removes the log file
        result = results[name]
        if result.errors:
            print(f"gunicorn's log (reads on {name}):\n{log}")
        for problem in result.problems:
            print(f"load (reads on {name}): {problem}")
        rows.append((name, result.line()))
    return len(visitors), rows, served


def postgres_version(url):
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute("SHOW server_version").fetchone()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("BENCH_JOBS", 1_000_000)))
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--divisions", type=int, default=100)
    parser.add_argument("--users", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 30)))
    parser.add_argument("--load-seconds", type=int, default=20)
    parser.add_argument("--load-threads", type=int, default=8)
    parser.add_argument("--load-users", type=int, default=60)
    parser.add_argument("--load-max-requests", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--conn-max-age", type=int, default=60, help="0: a connection per request")
    parser.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"comma-separated parts to run, of {','.join(PARTS)}; a partial run prints its "
        "tables instead of writing docs/benchmarks.md unless --output is given",
    )
    parser.add_argument("--output")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if parts - set(PARTS):
        parser.error(f"--only: unknown part(s) {','.join(sorted(parts - set(PARTS)))}")
    if args.output is None and parts == set(PARTS):
        args.output = str(ROOT / "docs" / "benchmarks.md")
    command = "make bench" + (f" BENCH_JOBS={args.jobs}" if args.jobs != 1_000_000 else "")
    if "citus" in parts:
        from benchmarks import citus

        reason = citus.missing()
        if reason and args.only != ",".join(PARTS):
            parser.error(f"the citus part: {reason}")
        if reason:
            print(f"*** CITUS PART SKIPPED: {reason} ***", flush=True)
            parts.discard("citus")

    server = ThrowawayServer()
    stack = ExitStack()
    try:
        admin_url = server.start()
        database = "bench_proone"
        app_user, app_password = "bench_app", secrets.token_urlsafe(16)
        env = dict(
            os.environ,
            SECRET_KEY=secrets.token_urlsafe(32),
            RLS_SIGNING_KEY=secrets.token_urlsafe(32),
            DEBUG="0",
            SECURE_SSL_REDIRECT="0",
            ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
            MIGRATIONS_REQUIRE_SIGNOFF="0",
            DJANGO_SETTINGS_MODULE="proone.settings",
            DATABASE_ADMIN_URL=admin_url,
            DATABASE_URL=url_with(admin_url, app_user, app_password, database),
            DATABASE_MIGRATE_URL=url_with(
                admin_url, "bench_owner", secrets.token_urlsafe(16), database
            ),
        )
        manage(env, "create_db_roles")
        manage(env, "migrate", "--noinput", "-v", "0", database_url=env["DATABASE_MIGRATE_URL"])
        sizes = [
            f"--tenants={args.tenants}",
            f"--divisions={args.divisions}",
            f"--users={args.users}",
            f"--jobs={args.jobs}",
        ]
        started = time.perf_counter()
        manage(env, "seed_demo", *sizes)
        seed_seconds = time.perf_counter() - started
        superuser_url = url_with(admin_url, "postgres", server.password, database)
        import psycopg

        with psycopg.connect(superuser_url, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
        if "citus" in parts:
            print("citus: the same world on a Citus cluster...", flush=True)
            citus_env, citus_superuser_url, citus_seed_seconds = stack.enter_context(
                citus.cluster(env, sizes)
            )
        os.environ.update(env)
        import django
        import environ
        from django.conf import settings

        settings.DATABASES["bypass"] = environ.Env.db_url_config(superuser_url)
        if "citus" in parts:
            settings.DATABASES[citus.CITUS] = citus.database_settings(
                settings.DATABASES["default"], citus_env["DATABASE_URL"]
            )
        django.setup()
        users = measured_users()
        # The parts that scope the ORM load their users afresh: signing in (the pages) saves a
        # user, after which a loaded list is no longer used
        # (divisions.visibility.loaded_divisions.loaded).
        measured = {}
        if "queries" in parts:
            print("measuring the list queries...", flush=True)
            measured["queries"] = measure_queries(measured_users(), args.repeat)
        if "pages" in parts:
            print("measuring pages...", flush=True)
            measured["pages"] = page_rows(users, args.repeat)
        if "search" in parts:
            print("measuring title search...", flush=True)
            measured["search"] = search_rows(measured_users(), args.repeat)
        if "peer" in parts:
            print("the signed principal against an unsigned one...", flush=True)
            from benchmarks import peer as peer_bench

            peer_bench.create(superuser_url, app_user)
            measured["peer"] = peer_bench.rows(users, env["DATABASE_URL"], args.repeat)
        if "guardian" in parts:
            print("django-guardian...", flush=True)
            measured["guardian"] = guardian_rows(measured_users(), args.repeat)
        if "export" in parts:
            print("the CSV export, a process per measurement...", flush=True)
            measured["exports"] = export_rows(env, superuser_url, users)
        if "load" in parts:
            print("load...", flush=True)
            superuser = {
                "host": "127.0.0.1",
                "port": server.port,
                "database": database,
                "password": server.password,
                "url": superuser_url,
                "app_user": app_user,
                "app_password": app_password,
            }
            measured["load"], measured["faults"] = load_rows(env, superuser, args)
        if "replica" in parts:
            print("load with the reads on a hot standby...", flush=True)
            measured["replica"] = replica_rows(
                env, admin_url, database, app_user, app_password, args
            )
        if "matrix" in parts:
            print("the access matrix against the DataScope page...", flush=True)
            from benchmarks import access_matrix

            [(_, admin)] = measured_users([("tenant admin", "scale-1-admin")])
            measured["matrix"] = access_matrix.rows(admin, args.repeat)
        if "preview" in parts:
            print("the DataScope preview against the DataScope page...", flush=True)
            from benchmarks import scope_preview

            [(_, admin)] = measured_users([("tenant admin", "scale-1-admin")])
            measured["preview"] = scope_preview.rows(admin, args.repeat)
        if "citus" in parts:
            # Before the writes, which the pages here would then read; it adds a tenant.
            measured["citus"] = dict(
                citus.rows(
                    {citus.SINGLE: env, citus.CITUS: citus_env},
                    {citus.SINGLE: superuser_url, citus.CITUS: citus_superuser_url},
                    args,
                    # The same users as the pages' rows: a member whose scope lists others,
                    # and a tenant admin.
                    shapes=(SHAPES[1], SHAPES[3]),
                    search=SEARCHES[0][1],
                ),
                seed_seconds=citus_seed_seconds,
                version=citus.citus_version(citus_superuser_url),
            )
        if "writes" in parts:
            # Last: it posts status changes and notes, which the other parts would then read.
            print("the write rule's policies against one policy for every command...", flush=True)
            measured["writes"] = write_rows(
                measured_users(WRITERS), env["DATABASE_MIGRATE_URL"], args.repeat
            )
        report = render(
            args=args,
            command=command,
            seed_seconds=seed_seconds,
            version=postgres_version(superuser_url),
            **measured,
        )
        if args.output:
            Path(args.output).write_text(report)
            print(f"wrote {args.output}")
        else:
            print(report.split("\n## Notes\n")[0])
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 - Django may never have been set up
            pass
        stack.close()
        server.stop()


def render(**measured):
    """docs/benchmarks.md for `measured`, with this machine, today and this Python."""
    from benchmarks.report import render as render_report

    facts = {"machine": machine(), "day": date.today(), "python": platform.python_version()}
    return render_report(**measured, **facts)


if __name__ == "__main__":
    main()
