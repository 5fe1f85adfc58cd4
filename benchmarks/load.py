"""
Load on the portal: gunicorn serving it (directly, or through the PgBouncer of
tests/postgres_server.py), and a small threaded load generator on 127.0.0.1 that checks every
response against the oracle; and a concurrent status-change run that counts lost updates.

Why not locust: it brings gevent and a web UI for what is here 80 lines of threads; and the
point of this run is less the requests per second than reading every page it gets back and
comparing each job id on it with what the user may see, which is simplest in our own loop.
"""

import http.client
import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from jobs.models import Job
from tests.postgres_server import free_port, wait_for_port

from .measure import job_ids_in, leaked, percentile

ROOT = Path(__file__).resolve().parent.parent


class Gunicorn:
    """gunicorn serving `app` (proone.wsgi) on 127.0.0.1 with `env` (DATABASE_URL: the path);
    `threads` per worker (gthread) when more than 1."""

    def __init__(self, env, workers=3, app="proone.wsgi", threads=1):
        self.env = env
        self.app = app
        self.threads = threads
        self.log = Path(tempfile.mkstemp(prefix="proone-bench-gunicorn-", suffix=".log")[1])
        self.workers = workers
        self.port = free_port()
        self.process = None

    def start(self):
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter's gunicorn
            [
                str(gunicorn),
                self.app,
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--log-level",
                "warning",
                "--error-logfile",
                str(self.log),
                # Django's own log (a failed request's traceback) goes to stderr: into the log.
                "--capture-output",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process, "gunicorn")
        return self.port

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def log_tail(self, chars=3000, end=None):
        """The end of gunicorn's error log (tracebacks of failed requests), up to byte `end`
        when given; the log is then removed."""
        text = self.log_since(0)[:end]
        self.log.unlink(missing_ok=True)
        return text[-chars:]

    def log_size(self):
        """Bytes in the error log so far: a mark for `log_since`."""
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, mark):
        """The error log from byte `mark` on."""
        if not self.log.exists():
            return ""
        with self.log.open("rb") as log:
            log.seek(mark)
            return log.read().decode("utf-8", "replace")


def exceptions_in(log):
    """Counter of the exceptions (dotted names) that ended the tracebacks in `log`: of a chain
    ("During handling of the above exception...") the last one, the one that was raised."""
    raised = []
    in_traceback = False
    for line in log.splitlines():
        if line.startswith("Traceback (most recent call last):"):
            in_traceback = True
        elif line.startswith(("During handling of the above", "The above exception was")):
            raised.pop()
        elif in_traceback and line and not line[0].isspace():
            raised.append(line.split(":")[0])
            in_traceback = False
    return Counter(raised)


@dataclass
class Visitor:
    """One signed-in user: their session cookie and the oracle's verdict on job ids."""

    name: str
    cookie: str
    may_see: object  # job id -> bool
    some_visible: list  # a few job ids this user may open
    some_hidden: list  # a few job ids of the same tenant this user may not open
    token: str = ""  # an API token of this user: its requests go to /api/ too (run_load)


@dataclass
class Result:
    """What one load run saw."""

    requests: int = 0
    errors: int = 0
    leaks: int = 0
    checked_ids: int = 0
    seconds: float = 0.0
    latencies: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    unclean: int = 0  # errors that are not a clean error answer (`unclean`)

    def add(self, other):
        """This result and `other` (another stretch of the same run) together."""
        return Result(
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            leaks=self.leaks + other.leaks,
            checked_ids=self.checked_ids + other.checked_ids,
            seconds=self.seconds + other.seconds,
            latencies=self.latencies + other.latencies,
            problems=(self.problems + other.problems)[:20],
            unclean=self.unclean + other.unclean,
        )

    def line(self):
        p50, p95, p99 = (percentile(self.latencies, f) for f in (0.5, 0.95, 0.99))
        return {
            "requests": self.requests,
            "rps": self.requests / self.seconds if self.seconds else 0.0,
            "p50": p50,
            "p95": p95,
            "p99": p99,
            "errors": self.errors,
            "unclean": self.unclean,
            "leaks": self.leaks,
            "checked_ids": self.checked_ids,
        }


def fetch(port, path, cookie, token=""):
    """(status, body, milliseconds) of one GET; a fresh connection each time (sync workers).
    With `token`, as the API's bearer instead of the session."""
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {token}"} if token else {"Cookie": f"sessionid={cookie}"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, body, (time.perf_counter() - started) * 1000
    finally:
        connection.close()


LIST_PATHS = ("/jobs/", "/jobs/?status=open", "/jobs/?q=boiler", "/jobs/?status=done&q=roof")
API_LIST_PATHS = ("/api/jobs/", "/api/jobs/?status=open", "/api/jobs/?q=boiler")
# The portal's error page (templates/500.html): what a failed page must be.
ERROR_PAGE = "<h1>Something went wrong</h1>"


def api_job_ids(body):
    """The job ids of an API list page (its `results`)."""
    return [job["id"] for job in json.loads(body)["results"]]


def check(visitor, path, status, body, expect_visible=None):
    """(errors, leaks, ids checked, problem or None) for one response. A page that is not
    the one asked for (an error page) must link to no job the visitor may not see either."""
    api = path.startswith("/api/")
    if path.split("?")[0] in ("/jobs/", "/api/jobs/"):
        if status != 200:
            bad = [] if api else leaked(visitor.may_see, job_ids_in(body))
            if bad:
                return 1, len(bad), len(bad), f"{visitor.name} {path}: HTTP {status} with {bad}"
            return 1, 0, 0, f"{visitor.name} {path}: HTTP {status}"
        ids = api_job_ids(body) if api else job_ids_in(body)
        bad = leaked(visitor.may_see, ids)
        problem = f"{visitor.name} {path}: leaked {bad[:5]}" if bad else None
        return 0, len(bad), len(ids), problem
    pk = int(path.strip("/").split("/")[-1])
    allowed = not leaked(visitor.may_see, [pk])
    if status == 200 and not allowed:
        return 0, 1, 1, f"{visitor.name} {path}: HTTP 200 for a job out of scope"
    bad = [] if api or status == 200 else leaked(visitor.may_see, job_ids_in(body))
    if bad:
        return 1, len(bad), 1 + len(bad), f"{visitor.name} {path}: HTTP {status} with {bad}"
    if status not in (200, 404) or (status == 404 and allowed):
        return 1, 0, 1, f"{visitor.name} {path}: HTTP {status}"
    return 0, 0, 1, None


def unclean(path, status, body):
    """Why a failed answer is not a clean error, or None for a clean one: for the portal its
    error page (a 5xx with templates/500.html), for the API a 5xx whose body is its JSON error
    (`{"detail": ...}`); never a traceback, a redirect to sign-in or a 404 for a visible job."""
    if "Traceback" in body:
        return f"{path}: HTTP {status} with a traceback"
    if status < 500:
        return f"{path}: HTTP {status} instead of a result or an error"
    if path.startswith("/api/"):
        try:
            clean = set(json.loads(body)) == {"detail"}
        except (ValueError, TypeError):
            clean = False
        return None if clean else f"{path}: HTTP {status} without the API's JSON error"
    return None if ERROR_PAGE in body else f"{path}: HTTP {status} without the error page"


def run_load(port, visitors, seconds, threads, max_requests, seed=7, api_share=0.0):
    """Drive the portal for at most `seconds` and `max_requests`; every response is checked,
    and every failed one must be a clean error (`unclean`). A share `api_share` of the
    requests of visitors with a token go to the API (its list and its jobs) instead."""
    result = Result()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    started = time.monotonic()

    def worker(n):
        rng = random.Random(seed + n)  # noqa: S311 - load pattern, not security
        while time.monotonic() < deadline:
            with lock:
                if result.requests >= max_requests:
                    return
                result.requests += 1
            visitor = rng.choice(visitors)
            token = visitor.token if visitor.token and rng.random() < api_share else ""
            prefix = "/api" if token else ""
            roll = rng.random()
            if roll < 0.6:
                path = rng.choice(API_LIST_PATHS if token else LIST_PATHS)
            elif roll < 0.85 and visitor.some_visible:
                path = f"{prefix}/jobs/{rng.choice(visitor.some_visible)}/"
            elif visitor.some_hidden:
                path = f"{prefix}/jobs/{rng.choice(visitor.some_hidden)}/"
            else:
                path = f"{prefix}/jobs/"
            try:
                status, body, ms = fetch(port, path, visitor.cookie, token)
                errors, leaks, ids, problem = check(visitor, path, status, body)
                dirty = unclean(path, status, body) if errors else None
            except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
                ms, errors, leaks, ids = 0.0, 1, 0, 0
                problem = dirty = f"{path}: {error!r}"
            with lock:
                if ms:
                    result.latencies.append(ms)
                result.errors += errors
                if dirty:
                    result.unclean += 1
                    problem = f"{problem} ({dirty})"
                result.leaks += leaks
                result.checked_ids += ids
                if problem and len(result.problems) < 20:
                    result.problems.append(problem)

    pool = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(seconds + 60)
    result.seconds = time.monotonic() - started
    return result


# --- concurrent status changes: no update lost ---------------------------------------------

STATUS_NOTE = re.compile(r"status: ([a-z ]+) → ([a-z ]+), by ([\w.@+-]+)")
FORM = re.compile(r'<form class="status-form".*?</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
STATUSES = [value for value, _ in Job.Status.choices]
BY_LABEL = {label.lower(): value for value, label in Job.Status.choices}


class PageError(Exception):
    """A job's page did not come: (HTTP status, body) of what came instead."""


def status_form(port, job_id, cookie):
    """(status shown, the status form's hidden fields, csrf cookie) of a job's page; PageError
    when the answer is not the page."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", f"/jobs/{job_id}/", headers={"Cookie": f"sessionid={cookie}"})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        csrf = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
    finally:
        connection.close()
    form = FORM.search(body)
    if response.status != 200 or form is None:
        raise PageError(response.status, body)
    fields = dict(HIDDEN.findall(form.group(0)))
    return fields["seen"], fields, csrf.group(1) if csrf else ""


def send_status(port, job_id, cookie, csrf, fields, status):
    """(HTTP status, body) of one status change POST with the page's fields."""
    body = urllib.parse.urlencode({**fields, "status": status})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            f"/jobs/{job_id}/status/",
            body=body,
            headers={
                "Cookie": f"sessionid={cookie}; csrftoken={csrf}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def post_status(port, job_id, cookie, csrf, fields, status):
    """The HTTP status of one status change POST with the page's fields."""
    return send_status(port, job_id, cookie, csrf, fields, status)[0]


def status_notes(port, job_id, cookie):
    """(status shown, the status notes on a job's page as (before, after, by), oldest first)."""
    status, body, _ = fetch(port, f"/jobs/{job_id}/", cookie)
    if status != 200:
        raise PageError(status, body)
    notes = [(BY_LABEL[a], BY_LABEL[b], by) for a, b, by in STATUS_NOTE.findall(body)]
    return re.search(r'class="badge badge-(\w+)"', body).group(1), notes


def status_chain(port, job_id, cookie, initial, made=()):
    """(lost updates, changes recorded) from a job's page: each status note after the first
    `initial` ones ((status, notes) when the run began) must start from the status the one
    before it set, the last must end at the status shown, and every change in `made`
    (before, after, by: answered 302) must have its note. A change written without its note,
    or a note without its change, breaks the chain."""
    shown, notes = status_notes(port, job_id, cookie)
    start, skip = initial
    changes = notes[skip:]
    lost, current = 0, start
    for before, after, _ in changes:
        lost += before != current
        current = after
    missing = Counter(made) - Counter(changes)
    return lost + (current != shown) + sum(missing.values()), len(changes)


@dataclass
class StatusRun:
    """What a concurrent status-change run saw."""

    attempts: int = 0
    changed: int = 0  # answered 302
    conflicts: int = 0  # refused as stale (409)
    failed: int = 0  # a clean error answer (the error page) to the page or the change
    errors: int = 0  # anything else
    recorded: int = 0
    lost: int = 0
    problems: list = field(default_factory=list)

    def line(self):
        return {name: value for name, value in vars(self).items() if name != "problems"}

    def note(self, problem):
        if len(self.problems) < 20:
            self.problems.append(problem)


def run_status_changes(port, visitors, job_ids, rounds, seconds, faults=None):
    """Every visitor (who may change the jobs) opens each job's page, then all send a status
    change at once (a barrier), `rounds` times or until `seconds` pass; each change must be
    made (302) or refused as stale (409), or, while `faults` (a context, e.g.
    benchmarks.faults.Faults) are injected around the rounds, fail with a clean error page;
    then each job's notes must chain with no update lost (`status_chain`)."""
    result = StatusRun()
    deadline = time.monotonic() + seconds
    rng = random.Random(11)  # noqa: S311 - load pattern, not security
    lock = threading.Lock()
    initial = {}
    for job_id in job_ids:
        shown, notes = status_notes(port, job_id, visitors[0].cookie)
        initial[job_id] = (shown, len(notes))
    made = {job_id: [] for job_id in job_ids}

    def answered(status, body, what):
        """Count one failed answer: a clean error page, or an error."""
        dirty = unclean(what, status, body)
        with lock:
            if dirty:
                result.errors += 1
                result.note(dirty)
            else:
                result.failed += 1

    def change(visitor, job_id, barrier):
        form = None
        try:
            form = status_form(port, job_id, visitor.cookie)
        except PageError as error:
            answered(*error.args, f"/jobs/{job_id}/")
        except (OSError, http.client.HTTPException) as error:
            answered(0, repr(error), f"/jobs/{job_id}/")
        barrier.wait(timeout=30)
        if form is None:
            return
        seen, fields, csrf = form
        with lock:
            wanted = rng.choice([s for s in STATUSES if s != seen])
            result.attempts += 1
        try:
            status, body = send_status(port, job_id, visitor.cookie, csrf, fields, wanted)
        except (OSError, http.client.HTTPException) as error:
            status, body = 0, repr(error)
        if status == 302:
            with lock:
                result.changed += 1
                made[job_id].append((seen, wanted, visitor.name))
        elif status == 409:
            with lock:
                result.conflicts += 1
        else:
            answered(status, body, f"/jobs/{job_id}/status/ {seen} → {wanted}")

    with faults or nullcontext():
        for _ in range(rounds):
            if time.monotonic() > deadline:
                break
            job_id = rng.choice(job_ids)
            barrier = threading.Barrier(len(visitors))
            pool = [
                threading.Thread(target=change, args=(v, job_id, barrier), daemon=True)
                for v in visitors
            ]
            for thread in pool:
                thread.start()
            for thread in pool:
                thread.join(60)
    for job_id in job_ids:
        lost, recorded = status_chain(
            port, job_id, visitors[0].cookie, initial[job_id], made[job_id]
        )
        result.lost += lost
        result.recorded += recorded
    return result


# --- the load and the status changes, with faults ------------------------------------------


@dataclass
class FaultRun:
    """What a run with faults saw: the faults injected, the load during them and after
    them, and the status changes during them."""

    faults: dict
    during: Result
    after: Result
    status: StatusRun

    def line(self):
        return {
            **self.faults,
            "requests": self.during.requests,
            "failed": self.during.errors,
            "unclean": self.during.unclean + self.status.errors,
            "leaks": self.during.leaks + self.after.leaks,
            "checked_ids": self.during.checked_ids + self.after.checked_ids,
            "after_requests": self.after.requests,
            "after_errors": self.after.errors,
            "changes": self.status.attempts,
            "changed": self.status.changed,
            "conflicts": self.status.conflicts,
            "changes_failed": self.status.failed,
            "recorded": self.status.recorded,
            "lost": self.status.lost,
        }

    @property
    def problems(self):
        return self.during.problems + self.status.problems + self.after.problems


def run_with_faults(port, visitors, changers, job_ids, faults, seconds, threads, **options):
    """The load run (`visitors`, `threads`) and a concurrent status-change run (`changers`
    on `job_ids`) at the same time for `seconds`, while `faults` (benchmarks.faults.Faults)
    are injected around the status changes' rounds; then the load alone for
    `options["after_seconds"]` with no fault, where every request must succeed again."""
    max_requests = options.get("max_requests", 100_000)
    api_share = options.get("api_share", 0.0)
    during = []
    load = threading.Thread(
        target=lambda: during.append(
            run_load(port, visitors, seconds, threads, max_requests, api_share=api_share)
        ),
        daemon=True,
    )
    load.start()
    status = run_status_changes(port, changers, job_ids, 10_000, seconds, faults=faults)
    load.join(seconds + 120)
    after = run_load(
        port, visitors, options.get("after_seconds", 3), threads, max_requests, seed=8,
        api_share=api_share,
    )  # fmt: skip
    return FaultRun(faults.line(), during[0] if during else Result(errors=1), after, status)
