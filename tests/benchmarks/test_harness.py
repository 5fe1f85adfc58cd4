"""The benchmark harness at a tiny size: its timing, and a leak checker that does flag leaks."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks.faults import not_from_faults
from benchmarks.load import ERROR_PAGE, Visitor, check, exceptions_in, run_load, unclean
from benchmarks.measure import job_ids_in, leaked, paired_spread, percentile, summary, timed
from tests import oracle


def page_linking(*ids):
    rows = "".join(f'<a class="job-link" href="/jobs/{pk}/">Job</a> #{pk}' for pk in ids)
    return f"<html><body>{rows}</body></html>"


def test_percentiles_and_summary():
    samples = list(range(1, 101))
    assert percentile(samples, 0.5) == 50
    assert percentile(samples, 0.95) == 95
    assert percentile(samples, 0.99) == 99
    assert summary([3.0, 1.0, 2.0]) == (2.0, 3.0)
    with pytest.raises(ValueError):
        percentile([], 0.5)


def test_the_paired_spread_is_taken_round_by_round():
    """Round by round, not median over median: a slow round slows both sides alike."""
    on = [11.0, 22.0, 33.0, 44.0]
    off = [10.0, 20.0, 30.0, 40.0]
    assert paired_spread(on, off) == pytest.approx((1.1, 1.1))
    assert paired_spread([12.0, 10.0, 10.0, 10.0], [10.0] * 4) == pytest.approx((1.0, 1.0))
    with pytest.raises(ValueError):
        paired_spread([1.0], [1.0, 2.0])


def test_timed_alternates_and_counts_every_round():
    calls = []
    samples = timed([lambda: calls.append("a"), lambda: calls.append("b")], repeat=3)
    assert [len(s) for s in samples] == [3, 3]
    assert calls == ["a", "b"] * 4  # one warm-up round, then three timed ones in alternation
    assert all(ms >= 0 for s in samples for ms in s)


def test_job_ids_are_read_from_the_list_links():
    assert job_ids_in(page_linking(3, 17) + '<a href="/jobs/?page=o.2.1.3">') == [3, 17]


def test_leaked_flags_what_the_rule_refuses_and_what_it_cannot_judge():
    allowed = {1: True, 2: False}
    assert leaked(allowed.__getitem__, [1, 2, 99]) == [2, 99]


@pytest.fixture
def alice_visitor(world):
    snapshot = oracle.snapshot()
    alice = world.u.alice
    return Visitor(
        "alice",
        "cookie",
        lambda pk: oracle.may_see(snapshot, alice, pk),
        [world.jobs.electrical.pk],
        [world.jobs.ops.pk],
    )


def test_the_checker_flags_a_planted_out_of_scope_job(world, alice_visitor):
    own, theirs = world.jobs.hq.pk, world.jobs.ops.pk  # Globex's job: never Alice's
    assert check(alice_visitor, "/jobs/", 200, page_linking(own)) == (0, 0, 1, None)
    errors, leaks, ids, problem = check(alice_visitor, "/jobs/", 200, page_linking(own, theirs))
    assert (errors, leaks, ids) == (0, 1, 2) and str(theirs) in problem
    assert check(alice_visitor, f"/jobs/{theirs}/", 200, "")[1] == 1  # opened: a leak
    assert check(alice_visitor, f"/jobs/{theirs}/", 404, "")[:2] == (0, 0)
    assert check(alice_visitor, f"/jobs/{own}/", 404, "")[0] == 1  # hers, refused: an error
    assert check(alice_visitor, "/jobs/", 500, "")[0] == 1


def test_an_error_page_is_checked_for_leaks_and_for_being_a_clean_error(world, alice_visitor):
    """A failed answer must show no job out of scope either, and be the error page (the
    portal) or the JSON error (the API): never a traceback, a redirect, a wrong 404."""
    own, theirs = world.jobs.hq.pk, world.jobs.ops.pk
    error_page = f"<html><body>{ERROR_PAGE}</body></html>"
    assert check(alice_visitor, "/jobs/", 500, error_page) == (1, 0, 0, "alice /jobs/: HTTP 500")
    errors, leaks, _, problem = check(alice_visitor, "/jobs/", 500, page_linking(theirs))
    assert (errors, leaks) == (1, 1) and str(theirs) in problem
    assert check(alice_visitor, f"/jobs/{own}/", 503, page_linking(theirs))[:2] == (1, 1)
    assert unclean("/jobs/", 500, error_page) is None
    assert "traceback" in unclean("/jobs/", 500, error_page + "Traceback (most recent")
    assert "error page" in unclean("/jobs/", 502, "<html>Bad Gateway</html>")
    assert "instead of" in unclean("/jobs/", 302, "")
    assert "instead of" in unclean(f"/jobs/{own}/", 404, "")
    assert unclean("/api/jobs/", 503, '{"detail": "The service is unavailable"}') is None
    assert "JSON" in unclean("/api/jobs/", 500, error_page)
    assert "JSON" in unclean("/api/jobs/", 503, '{"detail": "x", "results": []}')


def test_the_api_list_is_checked_like_the_list_page(world, alice_visitor):
    own, theirs = world.jobs.hq.pk, world.jobs.ops.pk
    page = '{"results": [{"id": %d}, {"id": %d}], "next": null, "previous": null}'
    assert check(alice_visitor, "/api/jobs/", 200, page % (own, own)) == (0, 0, 2, None)
    assert check(alice_visitor, "/api/jobs/?q=x", 200, page % (own, theirs))[:3] == (0, 1, 2)
    assert check(alice_visitor, f"/api/jobs/{theirs}/", 200, "{}")[1] == 1
    assert check(alice_visitor, f"/api/jobs/{theirs}/", 404, "{}")[:2] == (0, 0)


LOG = """2026-01-01 ERROR django.request Internal Server Error: /jobs/4/status/
Traceback (most recent call last):
  File "jobs/models.py", line 173, in change_status
jobs.status.StatusChanged: Job 4 is no longer done.

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "psycopg/cursor.py", line 117, in execute
psycopg.errors.AdminShutdown: terminating connection due to administrator command

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "django/db/backends/utils.py", line 105, in _execute
django.db.utils.OperationalError: terminating connection due to administrator command
2026-01-01 ERROR django.request Internal Server Error: /jobs/
Traceback (most recent call last):
  File "jobs/views.py", line 1, in job_list
AttributeError: 'NoneType' object has no attribute 'cursor'
"""


def test_the_log_is_read_for_the_exceptions_raised_and_those_no_fault_explains():
    raised = exceptions_in(LOG)
    assert raised == {"django.db.utils.OperationalError": 1, "AttributeError": 1}
    assert not_from_faults(raised) == {"AttributeError": 1}


def test_the_load_generator_stops_by_itself_and_checks_every_response(world, alice_visitor):
    """Against a stub server that plants a foreign job on every list page."""
    planted = world.jobs.ops.pk
    body = page_linking(world.jobs.hq.pk, planted).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            status = 200 if self.path.startswith("/jobs/?") or self.path == "/jobs/" else 404
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = run_load(server.server_port, [alice_visitor], 5, threads=2, max_requests=30)
    finally:
        server.shutdown()
        server.server_close()
    line = result.line()
    assert line["requests"] == 30 and len(result.latencies) == 30
    # Every answer links the planted job, the 404 pages too (each a leak); every detail of
    # Alice's own job is a 404 here (an error, and not a clean one).
    assert line["leaks"] == line["requests"] and line["errors"] >= 1
    assert line["unclean"] == line["errors"]
    assert any(str(planted) in problem for problem in result.problems)


def subquery_at(sql, marker):
    """The parenthesised SQL that starts at `marker` (which ends inside the parenthesis)."""
    start = sql.index(marker)
    depth = 0
    for end in range(start, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        if depth == 0 and sql[end] == ")":
            return sql[start : end + 1]
    raise AssertionError(f"unbalanced SQL after {marker!r}")


def test_the_rule_hands_postgresql_the_division_list_as_an_array(world):
    """The planner then sees the real list (docs/benchmarks.md); the rows are the same."""
    from django.db import connection

    from divisions.scoping import acting_as
    from jobs.models import Job

    with acting_as(world.u.alice):
        sql = str(Job.objects.all().query)
        visible = set(Job.objects.values_list("pk", flat=True))
    marker = "= ANY(ARRAY(SELECT" if connection.vendor == "postgresql" else "IN (SELECT"
    # Division's default ordering (name, pk) must not reach the array: it would sort for nothing.
    assert "ORDER BY" not in subquery_at(sql, marker)
    assert visible == oracle.visible_jobs(oracle.snapshot(), world.u.alice)


def test_the_report_renders_every_section():
    from types import SimpleNamespace

    from benchmarks.run import render

    args = SimpleNamespace(
        repeat=2, tenants=3, divisions=2, users=1, jobs=10, workers=1, load_threads=1,
        load_seconds=1, load_max_requests=5, conn_max_age=0,
    )  # fmt: skip
    queries = [
        ("shape", "unscoped (floor)", 5, 1.0, 2.0, 1.0, 2.0),
        ("shape", "scoped ORM, RLS on", 5, 1.5, 2.5, 3.0, 4.0),
    ]
    pages = [
        ("shape", "list", "unscoped page", 10.0, 11.0, 9, None),
        ("shape", "list", "scoped page, RLS off", 11.0, 12.0, 9, None),
        ("shape", "list", "scoped page, RLS on", 12.0, 13.0, 9, (1.04, 1.125)),
    ]
    line = {"requests": 3, "rps": 1.5, "p50": 1, "p95": 2, "p99": 3, "errors": 0, "leaks": 0}
    text = render(
        args=args, command="make bench", seed_seconds=1.0, version="15", queries=queries,
        pages=pages, guardian=(4, 0.5, [("shape", 30.0, 31.0, 1.5, 2.0)]),
        load=(2, [("direct", "unscoped (tenant filter only, RLS off)",
                   {**line, "rps": 2.0, "checked_ids": 7}),
                  ("direct", "scoped, RLS on", {**line, "checked_ids": 7})]),
        faults=[("direct", {"faults": 25, "terminate backends": 40, "cancel backends": 12,
                            "requests": 1500, "failed": 30, "unclean": 0, "leaks": 0,
                            "checked_ids": 9000, "after_requests": 300, "after_errors": 0,
                            "changed": 50, "conflicts": 90, "changes_failed": 9, "lost": 0,
                            "raised": 39, "unexplained": 0})],
        exports=[("shape", "RLS on", 5, {"rows": 5, "bytes": 2 * 1024 * 1024, "seconds": 0.5,
                                         "set_up_kib": 60 * 1024, "peak_kib": 61 * 1024,
                                         "heap_peak_kib": 300.4})],
        replica=(2, [("the primary alone", {**line, "rps": 2.0, "checked_ids": 7}),
                     ("a hot standby", {**line, "checked_ids": 7})], 42),
        writes=[("shape", "status change (POST)", (10.0, 10.2, (0.99, 1.04)),
                 (5.0, 5.05, (1.0, 1.02))),
                ("shape", "list", (20.0, 20.0, (0.9, 1.1)), None)],
    )  # fmt: skip
    for expected in ("| shape | scoped ORM, RLS on | 5 | 1.50 | 2.50 | 1.50 |",
                     "| 1.20 | 1.09 | 1.04–1.12 | 9 |", "| 20.0 |",
                     "| direct | scoped, RLS on | 3 | 2 | 0.75 |", "| n/a |",
                     "| direct | 25 | 40 / 12 | 1,500 | 30 | 0 | 0 | 9,000 | 300 | 0 "
                     "| 50 / 90 / 9 | 0 | 39 (0) |",
                     "## Notes", "## The CSV export",
                     "| shape | RLS on | 5 | 2.0 | 0.50 | 10 | 60.0 | 61.0 | 1.0 | 300 |",
                     "## Reads on a hot standby", "| a hot standby | 3 | 2 | 0.75 |",
                     "The standby served 42 transactions",
                     "## The write rule's policies against one policy for every command",
                     "| shape | status change (POST) | 10.00 | 10.20 | 1.020 | 0.990–1.040 "
                     "| 5.00 | 5.05 | 1.010 | 1.000–1.020 |",
                     "| 1.000 | 0.900–1.100 | n/a | n/a | n/a | n/a |"):  # fmt: skip
        assert expected in text


def test_the_report_renders_the_citus_rows_with_the_command_and_machine():
    from types import SimpleNamespace

    from benchmarks.citus import CITUS, SINGLE
    from benchmarks.run import render

    args = SimpleNamespace(
        repeat=2, tenants=3, divisions=2, users=1, jobs=10, workers=1, load_threads=1,
        load_seconds=1, load_max_requests=5, conn_max_age=0,
    )  # fmt: skip
    line = {"requests": 30, "p50": 1, "p95": 2, "p99": 3, "errors": 0, "leaks": 0,
            "checked_ids": 70}  # fmt: skip
    page = ((10.0, 12.0), (25.0, 30.0), (2.4, 2.6))
    citus = {
        "pages": [("tenant admin", "list", page)],
        "load": (9, {SINGLE: {**line, "rps": 20.0}, CITUS: {**line, "rps": 15.0}}),
        "wide": (
            1234,
            [
                ("member, wide tenant", "list", ((40.0, 41.0), (20.0, 22.0), (0.45, 0.55))),
                (
                    "tenant admin, wide tenant",
                    "entering the principal",
                    ((0.9, 1.0), (6.8, 6.9), (6.9, 9.1)),
                ),
            ],
        ),
        "seed_seconds": 61.4,
        "version": "13.2-1",
    }
    text = render(
        args=args, command="make bench BENCH_JOBS=10", seed_seconds=1.0, version="15",
        citus=citus,
    )  # fmt: skip
    for expected in ("## Citus: the single node against a cluster", "Citus 13.2-1 cluster",
                     "`make bench BENCH_JOBS=10` on ", " cores, ", "`seed_demo` took 61 s",
                     "| tenant admin | list | 10.0 | 12.0 | 25.0 | 30.0 | 2.50 (2.40–2.60) |",
                     "| Citus, 2 workers | 30 | 15.0 | 1.0 | 2.0 | 3.0 | 0 | 0 | 70 |",
                     "throughput: **0.75x**", "sees 1,234 jobs",
                     "| member, wide tenant | list | 40.0 | 41.0 | 20.0 | 22.0 | 0.50 "
                     "(0.45–0.55) |",
                     "| tenant admin, wide tenant | entering the principal | 0.9 | 1.0 | 6.8 | "
                     "6.9 | 7.56 (6.90–9.10) |"):  # fmt: skip
        assert expected in text, expected


def test_the_export_measurement_counts_the_streamed_rows(world, client):
    """benchmarks/export.py reads the whole streamed CSV: its row count is the oracle's."""
    from benchmarks.export import stream

    client.force_login(world.u.alice)
    rows, size, set_up = stream(client, "/jobs/export.csv")
    assert rows == len(oracle.visible_jobs(oracle.snapshot(), world.u.alice)) > 0
    assert size > rows and set_up > 0
    assert stream(client, "/jobs/export.csv?q=matches-no-job-at-all")[0] == 0
    client.logout()
    with pytest.raises(RuntimeError, match="HTTP 302"):
        stream(client, "/jobs/export.csv")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_peer_row_measures_the_same_rows_with_an_unsigned_principal(world):
    """The peer table answers each user as the signed one does, or the row is refused."""
    import psycopg
    from django.db import connection

    from benchmarks import peer
    from tests.pg_setup import owner_conninfo, owner_url

    settings_dict = connection.settings_dict
    app_url = (
        f"postgresql://{settings_dict['USER']}:{settings_dict['PASSWORD']}@"
        f"{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/"
        f"{settings_dict['NAME']}"
    )
    # As the owner, not a superuser as in `make bench`: the owner is under the division tables'
    # forced policies, so only a tenant admin's rule (no division list) is answered here.
    peer.create(owner_url(), settings_dict["USER"])
    try:
        users = [("tenant admin", world.u.acme_admin)]
        rows = peer.rows(users, app_url, repeat=1)
        assert [row[0] for row in rows] == ["tenant admin"]
        with psycopg.connect(**owner_conninfo(), autocommit=True) as owner:
            owner.execute("SELECT set_config('bench_peer.system', 'on', false)")
            owner.execute("UPDATE bench_peer.jobs_job SET title = 'changed' WHERE tenant_id = %s",
                          [world.tenants.acme.pk])  # fmt: skip
        with pytest.raises(RuntimeError, match="answers differently for acme-admin"):
            peer.rows(users, app_url, repeat=1)
    finally:
        with psycopg.connect(**owner_conninfo(), autocommit=True) as owner:
            owner.execute("DROP SCHEMA bench_peer CASCADE")


def test_the_unscoped_portal_refuses_to_start_outside_the_benchmark(monkeypatch):
    """benchmarks.unscoped_wsgi turns the division rule and RLS off: never without the
    benchmark's own switch, whatever the settings."""
    import importlib
    import sys

    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.delenv("BENCH_UNSCOPED_PORTAL", raising=False)
    monkeypatch.delitem(sys.modules, "benchmarks.unscoped_wsgi", raising=False)
    with pytest.raises(ImproperlyConfigured, match="make bench"):
        importlib.import_module("benchmarks.unscoped_wsgi")


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_measured_users_are_loaded_as_a_request_loads_them(world):
    """Their scoped queries name the visible divisions as a list, as a request's do; a user
    loaded without them would carry the rule's subquery into every statement measured."""
    from benchmarks.run import measured_users
    from divisions.scoping import acting_as
    from jobs.models import Job

    ((_, alice),) = measured_users((("own division only", world.u.alice.username),))
    with acting_as(alice):
        sql = str(Job.objects.all().query)
        visible = set(Job.objects.values_list("pk", flat=True))
    assert "divisions_datascope" not in sql
    assert visible == oracle.visible_jobs(oracle.snapshot(), world.u.alice)


POLICIES = (
    "SELECT tablename, policyname, permissive, roles, cmd, qual, with_check FROM pg_policies "
    "WHERE tablename IN ('jobs_job', 'jobs_jobnote') ORDER BY 1, 2"
)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_writes_rows_swap_the_policies_round_by_round_and_put_todays_back(world):
    """Alice sees Electrical's jobs but is not of its division: under the single policy she may
    rewrite its title, under the write rule's she may not. Each round runs both sets, the first
    alternating; today's policies are installed again afterwards, also when a page fails."""
    import psycopg
    from django.db import connection

    from benchmarks import writes
    from divisions.scoping import acting_as
    from tests.pg_setup import owner_conninfo, owner_url

    with psycopg.connect(**owner_conninfo()) as owner:
        today = owner.execute(POLICIES).fetchall()
    assert {name for _, name, *_ in today} >= {"proone_read", "proone_update_status"}
    written = []

    def rewrite_title():
        with acting_as(world.u.alice), connection.cursor() as cursor:
            cursor.execute("UPDATE jobs_job SET title = 'rewritten' WHERE id = %s",
                           [world.jobs.electrical.pk])  # fmt: skip
            written.append(cursor.rowcount)

    samples = writes.alternate(owner_url(), [rewrite_title], rounds=2)
    assert [len(samples[name][0]) for name in samples] == [2 * writes.TIMED_PER_ROUND] * 2
    # Wall and CPU time per fetch; the CPU includes the backend's (the test server is local).
    assert all(wall > 0 and cpu > 0 for name in samples for wall, cpu in samples[name][0])
    block = writes.TIMED_PER_ROUND + 1  # one untimed fetch, then the timed ones
    assert written == [1, 0] + [1] * block + [0] * block + [0] * block + [1] * block
    with psycopg.connect(**owner_conninfo()) as owner:
        assert owner.execute(POLICIES).fetchall() == today

    def fails_on_its_third_fetch():  # the third: the first round's, under the single policy
        written.append(None)
        if len(written) == 3:
            raise RuntimeError("a page failed")

    written.clear()
    with pytest.raises(RuntimeError, match="a page failed"):
        writes.alternate(owner_url(), [fails_on_its_third_fetch], rounds=1)
    with psycopg.connect(**owner_conninfo()) as owner:
        assert owner.execute(POLICIES).fetchall() == today
    with acting_as(world.u.alice), connection.cursor() as cursor:
        cursor.execute("UPDATE jobs_job SET title = 'x' WHERE id = %s", [world.jobs.electrical.pk])
        assert cursor.rowcount == 0


def test_the_single_policy_stands_for_the_write_rules_policies_on_jobs():
    """The single policy set keeps every other policy of the two tables as the source states
    it, and has proone_scope where the source has the write rule's five on jobs_job."""
    from benchmarks import writes

    sets = writes.policy_sets()
    single, today = (set(sets[name]) for name in (writes.ONE_POLICY, writes.PER_COMMAND))
    assert len(today - single) == 5 + 2  # jobs_job's five; the notes' delete and update
    assert sorted(text.split("\n")[0] for text in single - today) == [
        "CREATE POLICY proone_delete ON jobs_jobnote",
        "CREATE POLICY proone_scope ON jobs_job",
        "CREATE POLICY proone_update ON jobs_jobnote",
    ]
    assert any("proone_owner_search ON jobs_job" in text for text in single & today)


def test_the_preview_rows_time_two_previews_that_gain_sight_against_the_page(world):
    """benchmarks/scope_preview.py: the scope page and two previews whose answers gain someone
    sight (checked inside), each with its queries; the section gives each preview's ratio."""
    from benchmarks import scope_preview

    measured, spreads = scope_preview.rows(world.u.acme_admin, 2)
    names = [name for name, *_ in measured]
    assert names == [scope_preview.SCOPE_PAGE, scope_preview.TICK_ONE, scope_preview.EVERYONE]
    assert all(median > 0 and queries > 0 for _, median, _, queries, _ in measured)
    assert set(spreads) == {scope_preview.TICK_ONE, scope_preview.EVERYONE}
    text = "\n".join(scope_preview.markdown((measured, spreads)))
    assert "## The DataScope preview" in text
    assert text.count("x** |") == 2 and "a tenant of 4 divisions" in text
