"""
Faults on a schedule while a load run goes on, on a PostgreSQL server at 127.0.0.1: the
portal's backends terminated mid-request (`pg_terminate_backend`) and their running statements
cancelled (`pg_cancel_backend`), one fault every `every` seconds, at most `count` of them.

The portal's backends are told apart by their application_name: the portal's DATABASE_URL
carries it (`portal_url`; PgBouncer passes it on to the server connection a client is given),
so the run's own connections are never hit. A role may signal its own backends, so the app
role itself can inject the faults; `make bench` does it as the superuser.
"""

import threading
import time

import psycopg
from psycopg import sql

APPLICATION = "proone-faults"
# What each kind of fault calls on a backend.
SIGNALS = {"terminate": "pg_terminate_backend", "cancel": "pg_cancel_backend"}
BUSY = ("active", "idle in transaction", "idle in transaction (aborted)")
# What a fault may raise in a request (the connection went: AdminShutdown, the server's
# "terminating connection"; the statement was cancelled: QueryCanceled) and what psycopg and
# Django wrap them in. Any other exception in the portal's log is a bug a fault revealed.
FAULT_EXCEPTIONS = ("OperationalError", "InterfaceError", "QueryCanceled", "AdminShutdown")


def not_from_faults(raised):
    """The exceptions of `raised` (name -> count, benchmarks.load.exceptions_in) that no
    fault explains."""
    return {name: n for name, n in raised.items() if name.split(".")[-1] not in FAULT_EXCEPTIONS}


def portal_url(url):
    """`url` (a DATABASE_URL) with the application_name the faults look for."""
    return f"{url}{'&' if '?' in url else '?'}application_name={APPLICATION}"


class Faults:
    """Inject faults from a thread between start() and stop() (or as a `with` block): every
    `every` seconds the next kind of `kinds` in turn, until `count` faults are injected.

    A fault waits up to `catch` seconds for a backend in the middle of a request (running a
    statement or inside its transaction) and signals every such backend; a terminate that
    catches none ends the idle ones instead (a persistent connection that dies between two
    requests)."""

    def __init__(self, url, every=0.5, count=20, kinds=("terminate", "cancel"), catch=0.3):
        self.url = url
        self.every = every
        self.count = count
        self.kinds = kinds
        self.catch = catch
        self.injected = {kind: 0 for kind in kinds}
        self.signalled = {kind: 0 for kind in kinds}
        self.failures = []
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def line(self):
        return {
            "faults": sum(self.injected.values()),
            **{f"{kind} faults": n for kind, n in self.injected.items()},
            **{f"{kind} backends": n for kind, n in self.signalled.items()},
        }

    def _run(self):
        try:
            with psycopg.connect(self.url, autocommit=True) as connection:
                for n in range(self.count):
                    if self._stop.wait(self.every):
                        return
                    kind = self.kinds[n % len(self.kinds)]
                    self.signalled[kind] += self._inject(connection, kind)
                    self.injected[kind] += 1
        except psycopg.Error as error:  # the run reports it: faults not injected are no test
            self.failures.append(repr(error))

    def _inject(self, connection, kind):
        """Backends signalled by one fault of `kind`."""
        deadline = time.monotonic() + self.catch
        while True:
            hit = self._signal(connection, kind, BUSY)
            if hit or time.monotonic() > deadline or self._stop.is_set():
                break
            time.sleep(0.003)
        if not hit and kind == "terminate":
            hit = self._signal(connection, kind, ("idle",))
        return hit

    @staticmethod
    def _signal(connection, kind, states):
        statement = sql.SQL(
            "SELECT count(*) FILTER (WHERE {}(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()"
            " AND pid <> pg_backend_pid() AND state = ANY(%s)"
        ).format(sql.Identifier(SIGNALS[kind]))
        return connection.execute(statement, [APPLICATION, list(states)]).fetchone()[0]
