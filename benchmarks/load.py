"""
Load on the portal: gunicorn serving it (directly, or through the PgBouncer of
tests/postgres_server.py), and a small threaded load generator on 127.0.0.1 that checks every
response against the oracle; and a concurrent status-change run that counts lost updates.

Why not locust: it brings gevent and a web UI for what is here 80 lines of threads; and the
point of this run is less the requests per second than reading every page it gets back and
comparing each job id on it with what the user may see, which is simplest in our own loop.
"""

import http.client
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
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

    def log_tail(self, chars=3000):
        """The end of gunicorn's error log (tracebacks of failed requests)."""
        text = self.log.read_text() if self.log.exists() else ""
        self.log.unlink(missing_ok=True)
        return text[-chars:]


@dataclass
class Visitor:
    """One signed-in user: their session cookie and the oracle's verdict on job ids."""

    name: str
    cookie: str
    may_see: object  # job id -> bool
    some_visible: list  # a few job ids this user may open
    some_hidden: list  # a few job ids of the same tenant this user may not open


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

    def add(self, other):
        """This result and `other` (another stretch of the same run) together."""
        return Result(
            self.requests + other.requests,
            self.errors + other.errors,
            self.leaks + other.leaks,
            self.checked_ids + other.checked_ids,
            self.seconds + other.seconds,
            self.latencies + other.latencies,
            (self.problems + other.problems)[:20],
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
            "leaks": self.leaks,
            "checked_ids": self.checked_ids,
        }


def fetch(port, path, cookie):
    """(status, body, milliseconds) of one GET; a fresh connection each time (sync workers)."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, body, (time.perf_counter() - started) * 1000
    finally:
        connection.close()


LIST_PATHS = ("/jobs/", "/jobs/?status=open", "/jobs/?q=boiler", "/jobs/?status=done&q=roof")


def check(visitor, path, status, body, expect_visible=None):
    """(errors, leaks, ids checked, problem or None) for one response."""
    if path.startswith("/jobs/?") or path == "/jobs/":
        if status != 200:
            return 1, 0, 0, f"{visitor.name} {path}: HTTP {status}"
        ids = job_ids_in(body)
        bad = leaked(visitor.may_see, ids)
        problem = f"{visitor.name} {path}: leaked {bad[:5]}" if bad else None
        return 0, len(bad), len(ids), problem
    pk = int(path.strip("/").split("/")[-1])
    allowed = not leaked(visitor.may_see, [pk])
    if status == 200 and not allowed:
        return 0, 1, 1, f"{visitor.name} {path}: HTTP 200 for a job out of scope"
    if status not in (200, 404) or (status == 404 and allowed):
        return 1, 0, 1, f"{visitor.name} {path}: HTTP {status}"
    return 0, 0, 1, None


def run_load(port, visitors, seconds, threads, max_requests, seed=7):
    """Drive the portal for at most `seconds` and `max_requests`; every response is checked."""
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
            roll = rng.random()
            if roll < 0.6:
                path = rng.choice(LIST_PATHS)
            elif roll < 0.85 and visitor.some_visible:
                path = f"/jobs/{rng.choice(visitor.some_visible)}/"
            elif visitor.some_hidden:
                path = f"/jobs/{rng.choice(visitor.some_hidden)}/"
            else:
                path = "/jobs/"
            try:
                status, body, ms = fetch(port, path, visitor.cookie)
                errors, leaks, ids, problem = check(visitor, path, status, body)
            except (OSError, http.client.HTTPException) as error:
                ms, errors, leaks, ids, problem = 0.0, 1, 0, 0, f"{path}: {error!r}"
            with lock:
                if ms:
                    result.latencies.append(ms)
                result.errors += errors
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

STATUS_NOTE = re.compile(r"status: ([a-z ]+) → ([a-z ]+), by ")
FORM = re.compile(r'<form class="status-form".*?</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
STATUSES = [value for value, _ in Job.Status.choices]
BY_LABEL = {label.lower(): value for value, label in Job.Status.choices}


def status_form(port, job_id, cookie):
    """(status shown, the status form's hidden fields, csrf cookie) of a job's page."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", f"/jobs/{job_id}/", headers={"Cookie": f"sessionid={cookie}"})
        response = connection.getresponse()
        body = response.read().decode()
        csrf = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
    finally:
        connection.close()
    fields = dict(HIDDEN.findall(FORM.search(body).group(0)))
    return fields["seen"], fields, csrf.group(1) if csrf else ""


def post_status(port, job_id, cookie, csrf, fields, status):
    """The HTTP status of one status change POST with the page's fields."""
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
        return connection.getresponse().status
    finally:
        connection.close()


def status_chain(port, job_id, cookie, initial):
    """(lost updates, changes recorded) from a job's page: each status note must start from
    the status the one before it set (the first from `initial`), and the last must be the
    status shown."""
    status, body, _ = fetch(port, f"/jobs/{job_id}/", cookie)
    changes = [(BY_LABEL[a], BY_LABEL[b]) for a, b in STATUS_NOTE.findall(body)]
    shown = re.search(r'class="badge badge-(\w+)"', body).group(1)
    lost, current = 0, initial
    for before, after in changes:
        lost += before != current
        current = after
    return lost + (current != shown), len(changes)


@dataclass
class StatusRun:
    """What a concurrent status-change run saw."""

    attempts: int = 0
    changed: int = 0
    conflicts: int = 0
    errors: int = 0
    recorded: int = 0
    lost: int = 0

    def line(self):
        return vars(self).copy()


def run_status_changes(port, visitors, job_ids, rounds, seconds):
    """Every visitor (who may change the jobs) opens each job's page, then all send a status
    change at once (a barrier), `rounds` times or until `seconds` pass; each change must be
    made (302) or refused as stale (409), and each job's notes must chain with no update lost."""
    result = StatusRun()
    deadline = time.monotonic() + seconds
    rng = random.Random(11)  # noqa: S311 - load pattern, not security
    initial = {}
    for job_id in job_ids:
        initial[job_id] = status_form(port, job_id, visitors[0].cookie)[0]
    for _ in range(rounds):
        if time.monotonic() > deadline:
            break
        job_id = rng.choice(job_ids)
        barrier = threading.Barrier(len(visitors))
        answers = []

        def change(visitor, job_id=job_id, barrier=barrier, answers=answers):
            seen, fields, csrf = status_form(port, job_id, visitor.cookie)
            wanted = rng.choice([s for s in STATUSES if s != seen])
            barrier.wait(timeout=30)
            answers.append(post_status(port, job_id, visitor.cookie, csrf, fields, wanted))

        pool = [threading.Thread(target=change, args=(v,), daemon=True) for v in visitors]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(60)
        result.attempts += len(visitors)
        result.changed += answers.count(302)
        result.conflicts += answers.count(409)
        result.errors += len(visitors) - answers.count(302) - answers.count(409)
    for job_id in job_ids:
        lost, recorded = status_chain(port, job_id, visitors[0].cookie, initial[job_id])
        result.lost += lost
        result.recorded += recorded
    # A change answered 302 without its note is lost too.
    result.lost += max(0, result.changed - result.recorded)
    return result
