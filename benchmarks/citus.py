"""
The Citus rows of `make bench`: the same world on a Citus cluster (a coordinator and two
workers, tests/citus_cluster.py) beside the single node, on the same machine in one run.

The cluster gets the single node's roles and keys (`create_db_roles`, CitusCluster.prepare,
`migrate` as the owner, which distributes jobs and notes by tenant: migrations 0031/0032) and
the same world (`seed_demo` as the app role). This process reaches it through the database
alias CITUS, built from the default alias's settings (the same connection options), and
measures by routing the ORM's default database to one alias or the other round by round:
the list, detail and title search pages of the same users; the load run through gunicorn
pointed at the coordinator against the same run on the single node, in alternating stretches,
each response checked by the visibility oracle (a leak raises); and a tenant of
WIDE_DIVISIONS divisions whose scopes each list WIDE_LISTED others, on both.
"""

import time
from contextlib import contextmanager

from benchmarks.measure import paired_spread, summary, timed
from divisions.citus_nodes import DISTRIBUTED_TABLES
from tests.postgres_server import url_with

CITUS = "citus"
SINGLE = "default"
# The cluster's database has a name of its own: the app caches what it learns of a database
# (divisions.rls.on_citus and others) by alias and name, and both answer as `default` here.
DATABASE = "bench_proone_citus"
SYSTEMS = {SINGLE: "single node", CITUS: "Citus, 2 workers"}
WIDE_SLUG = "wide-0"
WIDE_DIVISIONS = 2_000
WIDE_LISTED = 200
WIDE_JOBS = 100_000
# Who is measured in the wide tenant (demo.scale.seed_wide_tenant): a member first, whose
# visible jobs are counted, and the tenant's admin, whose claim seals all its divisions and scopes.
WIDE_SHAPES = (
    ("member, wide tenant", f"{WIDE_SLUG}-d3-u0"),
    ("tenant admin, wide tenant", f"{WIDE_SLUG}-admin"),
)
# The row of a transaction that only enters the user's principal (entering()).
ENTERING = "entering the principal"


def missing():
    """None when Citus is installed (built from CITUS_SRC if need be), else why not and how."""
    from tests.citus_cluster import ensure_citus

    reason = ensure_citus()
    return reason and f"{reason}: install Citus, or set CITUS_SRC (see tests/citus_cluster.py)"


@contextmanager
def cluster(env, sizes):
    """A Citus cluster with the roles and keys of `env` (the single node's environment) and
    the world of `sizes` (seed_demo's arguments): yields (the cluster's environment, its
    superuser URL of the database, seconds the seeding took)."""
    from benchmarks.run import manage
    from tests.citus_cluster import CitusCluster

    nodes = CitusCluster()
    try:
        admin_url = nodes.start()
        app, owner = (_role(env[name]) for name in ("DATABASE_URL", "DATABASE_MIGRATE_URL"))
        citus_env = dict(
            env,
            DATABASE_ADMIN_URL=admin_url,
            DATABASE_URL=url_with(admin_url, *app, DATABASE),
            DATABASE_MIGRATE_URL=url_with(admin_url, *owner, DATABASE),
        )
        print(f"citus: a coordinator and 2 workers from 127.0.0.1:{nodes.port}", flush=True)
        manage(citus_env, "create_db_roles")
        nodes.prepare(dict([app, owner]), citus_env)
        owner_url = citus_env["DATABASE_MIGRATE_URL"]
        manage(citus_env, "migrate", "--noinput", "-v", "0", database_url=owner_url)
        print("citus: seeding the same world...", flush=True)
        started = time.perf_counter()
        manage(citus_env, "seed_demo", *sizes)
        seconds = time.perf_counter() - started
        superuser_url = url_with(admin_url, "postgres", nodes.password, DATABASE)
        _vacuum(superuser_url)
        yield citus_env, superuser_url, seconds
    finally:
        nodes.stop()


def _role(url):
    """(user, password) of a postgres:// URL."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    return unquote(parts.username), unquote(parts.password)


def _vacuum(superuser_url):
    import psycopg

    with psycopg.connect(superuser_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def database_settings(default, citus_url):
    """The alias CITUS: the default alias's settings pointed at the cluster's coordinator."""
    import environ

    target = environ.Env.db_url_config(citus_url)
    keys = ("NAME", "USER", "PASSWORD", "HOST", "PORT")
    return dict(default, **{key: target[key] for key in keys})


def citus_version(superuser_url):
    import psycopg

    with psycopg.connect(superuser_url) as connection:
        return connection.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'citus'"
        ).fetchone()[0]


def _user(username):
    from django.db.models import QuerySet

    from divisions.models import User
    from divisions.scoping import unscoped

    with unscoped("benchmark: the measured user"):
        return QuerySet(User).get(username=username)


def _signed_in(alias, username):
    """A test client signed in as `username` on `alias`, and the user."""
    from django.test import Client

    from benchmarks.run import default_is

    with default_is(alias):
        user = _user(username)
        client = Client()
        client.force_login(user)
    return client, user


def _newest_job(alias, user):
    from benchmarks.run import default_is
    from divisions.scoping import acting_as
    from jobs.models import Job

    with default_is(alias), acting_as(user):
        return Job.objects.order_by("-created_at", "-pk").values_list("pk", flat=True)[0]


def side_by_side(paths_of, clients, repeat):
    """{page: ((single median, p95), (Citus median, p95), per round spread of Citus / single)}
    for each page of `paths_of(alias)` ({page: path}), fetched by `clients[alias]` with the
    ORM's default database routed to that alias, the two in alternation round by round."""
    from benchmarks.run import default_is

    paths = {alias: paths_of(alias) for alias in SYSTEMS}
    out = {}
    for page in paths[SINGLE]:

        def get(alias, page=page):
            with default_is(alias):
                response = clients[alias].get(paths[alias][page])
            assert response.status_code == 200, (alias, paths[alias][page], response.status_code)

        single, citus = timed([lambda: get(SINGLE), lambda: get(CITUS)], repeat)
        out[page] = (summary(single), summary(citus), paired_spread(citus, single))
    return out


def entering(users, repeat):
    """(single, Citus, per round spread) of a transaction that enters the principal of
    `users[alias]` and does nothing else: on the cluster, what proone_enter() adds to every
    request (the claim worked out and sealed, and sent to the workers)."""
    from benchmarks.run import default_is
    from divisions.scoping import acting_as

    def enter(alias):
        with default_is(alias), acting_as(users[alias]):
            pass

    single, citus = timed([lambda: enter(SINGLE), lambda: enter(CITUS)], repeat)
    return summary(single), summary(citus), paired_spread(citus, single)


def page_rows(shapes, search, repeat):
    """[(shape, page, measured)]: the list, a job's detail page and a title search for
    `search` of each of `shapes`' users ((shape, username) pairs) on both (side_by_side)."""
    rows = []
    for shape, username in shapes:
        signed = {alias: _signed_in(alias, username) for alias in SYSTEMS}
        clients = {alias: client for alias, (client, _) in signed.items()}

        def paths_of(alias, signed=signed):
            return {
                "list": "/jobs/",
                "detail": f"/jobs/{_newest_job(alias, signed[alias][1])}/",
                f"search, q={search}": f"/jobs/?q={search}",
            }

        for page, measured in side_by_side(paths_of, clients, repeat).items():
            rows.append((shape, page, measured))
        users = {alias: user for alias, (_, user) in signed.items()}
        rows.append((shape, ENTERING, entering(users, repeat)))
    return rows


def load_rows(envs, args):
    """The load run's portal (gunicorn, the scoped app) on the single node and on the
    coordinator, both up, the load alternating between them in four stretches (single,
    Citus, Citus, single): (visitors per system, {system: result line}). A leak raises."""
    from benchmarks.load import Gunicorn, Result, run_load
    from benchmarks.run import default_is, visitors_for_load

    keep = f"?conn_max_age={args.conn_max_age}"
    visitors = {}
    for alias in SYSTEMS:
        with default_is(alias):
            visitors[alias] = visitors_for_load(args.load_users // 3)
    servers = {
        alias: Gunicorn(
            dict(envs[alias], DATABASE_URL=envs[alias]["DATABASE_URL"] + keep),
            workers=args.workers,
        )
        for alias in SYSTEMS
    }
    results = {alias: Result() for alias in SYSTEMS}
    try:
        ports = {alias: server.start() for alias, server in servers.items()}
        for alias in (SINGLE, CITUS, CITUS, SINGLE):
            print(f"citus: load on the {SYSTEMS[alias]}...", flush=True)
            results[alias] = results[alias].add(
                run_load(
                    ports[alias],
                    visitors[alias],
                    args.load_seconds / 2,
                    args.load_threads,
                    args.load_max_requests // 2,
                )
            )
    finally:
        for server in servers.values():
            server.stop()
    lines = {}
    for alias, server in servers.items():
        log = server.log_tail()  # also removes the log file
        result = results[alias]
        if result.errors:
            print(f"gunicorn's log ({SYSTEMS[alias]}):\n{log}")
        for problem in result.problems:
            print(f"load ({SYSTEMS[alias]}): {problem}")
        if result.leaks:
            raise RuntimeError(f"load on the {SYSTEMS[alias]}: {result.leaks} leaked job ids")
        lines[alias] = result.line()
    return len(visitors[SINGLE]), lines


def seed_wide(alias):
    """The wide tenant on `alias` (demo.scale.seed_wide_tenant), as the app role."""
    from benchmarks.run import default_is
    from demo.scale import seed_wide_tenant

    with default_is(alias):
        seed_wide_tenant(WIDE_SLUG, WIDE_DIVISIONS, WIDE_LISTED, WIDE_JOBS)


def wide_rows(superuser_urls, repeat):
    """The wide tenant on both: (the jobs its member may see, [(shape, page, measured)]) for a
    member and the tenant's admin, each a list page, a job's detail page and entering the
    principal (side_by_side, entering)."""
    from benchmarks.run import count_visible, default_is

    for alias in SYSTEMS:
        started = time.perf_counter()
        seed_wide(alias)
        _vacuum(superuser_urls[alias])
        print(
            f"citus: the wide tenant on the {SYSTEMS[alias]} in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
    rows, visible = [], None
    for shape, username in WIDE_SHAPES:
        signed = {alias: _signed_in(alias, username) for alias in SYSTEMS}
        clients = {alias: client for alias, (client, _) in signed.items()}
        users = {alias: user for alias, (_, user) in signed.items()}
        if visible is None:
            with default_is(SINGLE):
                visible = count_visible(users[SINGLE])

        def paths_of(alias, users=users):
            return {"list": "/jobs/", "detail": f"/jobs/{_newest_job(alias, users[alias])}/"}

        measured = side_by_side(paths_of, clients, repeat)
        measured[ENTERING] = entering(users, repeat)
        rows += [(shape, page, m) for page, m in measured.items()]
    return visible, rows


def rows(envs, superuser_urls, args, shapes, search):
    """Everything the Citus section shows, measured: the pages of `shapes`' users
    ((shape, username) pairs) and a title search for `search`."""
    print("citus: pages side by side...", flush=True)
    pages = page_rows(shapes, search, args.repeat)
    print("citus: load side by side...", flush=True)
    load = load_rows(envs, args)
    print(f"citus: a tenant of {WIDE_DIVISIONS} divisions on both...", flush=True)
    wide = wide_rows(superuser_urls, args.repeat)
    return {"pages": pages, "load": load, "wide": wide}


def _ms(value):
    return f"{value:.1f}"


def markdown(measured, command, machine):
    """The section of docs/benchmarks.md for rows(...), with the cluster's Citus `version`
    and its seeding's `seed_seconds`."""
    version = measured["version"]
    out = [
        "",
        "## Citus: the single node against a cluster",
        "",
        f"The same world on a Citus {version} cluster (a coordinator and two workers, "
        f"tests/citus_cluster.py; {', '.join(DISTRIBUTED_TABLES)} distributed by tenant) "
        "beside the single "
        f"node, in one run of `{command}` on {machine}: every node a throwaway server of "
        "this machine, sharing its cores (benchmarks/citus.py). Pages through Django's test "
        "client as the same user on both, in alternation round by round. The cluster's "
        f"`seed_demo` took {measured['seed_seconds']:.0f} s. Milliseconds; "
        "x = Citus median / single-node median, per round spread of the ratio in brackets. "
        f"*{ENTERING}*: a transaction that enters the user's principal and does nothing "
        "else, which every request opens (on the cluster proone_enter() also works out the "
        "claim, the user's visible divisions and managed scopes, seals it and sends it to "
        "the workers).",
        "",
        "| shape | page | single median | single p95 | Citus median | Citus p95 | x |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    out += [_page_row(shape, page, m) for shape, page, m in measured["pages"]]
    visitors, lines = measured["load"]
    out += [
        "",
        f"Under load: gunicorn (the scoped portal) on each, {visitors} signed-in visitors, "
        "the load alternating between the two in four stretches; every response checked "
        "by the visibility oracle (a leak fails the run).",
        "",
        "| system | requests | req/s | p50 | p95 | p99 | errors | leaks | ids checked |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for alias, line in lines.items():
        out.append(
            f"| {SYSTEMS[alias]} | {line['requests']:,} | {line['rps']:.1f} "
            f"| {_ms(line['p50'])} | {_ms(line['p95'])} | {_ms(line['p99'])} "
            f"| {line['errors']} | {line['leaks']} | {line['checked_ids']:,} |"
        )
    out.append("")
    out.append(
        f"Citus / single node throughput: **{lines[CITUS]['rps'] / lines[SINGLE]['rps']:.2f}x**."
    )
    visible, wide = measured["wide"]
    out += [
        "",
        f"A tenant of {WIDE_DIVISIONS:,} divisions whose scopes each list {WIDE_LISTED} "
        f"others, {WIDE_JOBS:,} jobs, on both: a member's and the tenant admin's list page, "
        f"a job's detail page and entering the principal (the member sees {visible:,} jobs). "
        "What its members wait for on every page: the division rule over a scope of hundreds "
        "of divisions; on the cluster, its admin's claim also seals the tenant's "
        f"{WIDE_DIVISIONS:,} divisions and their scopes.",
        "",
        "| shape | page | single median | single p95 | Citus median | Citus p95 | x |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    out += [_page_row(shape, page, m) for shape, page, m in wide]
    return out


def _page_row(shape, page, measured):
    (sm, sp), (cm, cp), (low, high) = measured
    return (
        f"| {shape} | {page} | {_ms(sm)} | {_ms(sp)} | {_ms(cm)} | {_ms(cp)} "
        f"| {cm / sm:.2f} ({low:.2f}–{high:.2f}) |"
    )
