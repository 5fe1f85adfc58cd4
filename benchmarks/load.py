"""
Load on the portal: gunicorn serving it (directly, or through the PgBouncer of
tests/postgres_server.py), and a small threaded load generator on 127.0.0.1 that checks every
response against the oracle.

Why not locust: it brings gevent and a web UI for what is here 80 lines of threads; and the
point of this run is less the requests per second than reading every page it gets back and
comparing each job id on it with what the user may see, which is simplest in our own loop.
"""

import http.client
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

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
