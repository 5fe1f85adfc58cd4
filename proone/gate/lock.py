"""One migration run at a time: a lock on a table only the owner may lock (PostgreSQL), or a
file lock beside SQLite.

PostgreSQL lets LOCK TABLE in EXCLUSIVE MODE only roles that may UPDATE, DELETE or TRUNCATE
the table; nobody but the owner holds a privilege on `gate_lock` (gate.privileges takes back
what default privileges grant), so the app role cannot hold the gate up. EXCLUSIVE conflicts
with itself and not with ACCESS SHARE: pg_dump still reads past a running migration.
"""

import datetime
import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from django.db import DatabaseError, connections

from . import GateError
from .privileges import LOCK_TABLE, revoke_others

POLL_SECONDS = 0.2
LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of lock_timeout and NOWAIT

HOLDERS = """
SELECT a.pid, a.usename, a.application_name, coalesce(a.xact_start, a.backend_start)
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.granted AND l.relation = %s::regclass
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY 4
"""

_memory_locks = {}


def is_lock_not_available(error):
    """True when `error` (or what it wraps) is PostgreSQL's lock timeout or NOWAIT refusal."""
    while error is not None:
        if getattr(error, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return True
        error = error.__cause__ or error.__context__
    return False


def sqlite_lock_path(alias, purpose):
    """The lock file beside the SQLite database, or None for an in-memory database."""
    name = str(connections[alias].settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return None
    return Path(f"{name}.{purpose}.lock")


def _since(moment):
    return f"{moment.astimezone(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC" if moment else "unknown"


def _busy(what, wait, holder=None):
    """One line: who holds the lock, that nothing was applied, and what to do."""
    held = f"held by {holder}" if holder else "busy"
    return (
        f"The {what} is {held}; gave up after --lock-wait {wait:g} s and applied nothing. "
        "Wait for that run to finish and run again (or raise --lock-wait); if its process is "
        "gone, end the session that holds it."
    )


@contextmanager
def file_lock(path, timeout, what):
    """Hold an exclusive flock on `path`, waiting at most `timeout` seconds; the file names
    the holding process."""
    if path is None:
        lock = _memory_locks.setdefault(what, threading.Lock())
        if not lock.acquire(timeout=timeout):
            raise GateError(_busy(what, timeout))
        try:
            yield
        finally:
            lock.release()
        return
    deadline = time.monotonic() + timeout
    with open(path, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    raise GateError(_busy(what, timeout, handle.read().strip() or None)) from None
                time.sleep(POLL_SECONDS)
        try:
            handle.truncate(0)
            handle.write(f"pid {os.getpid()} since {_since(datetime.datetime.now(datetime.UTC))}")
            handle.flush()
            yield
        finally:
            handle.truncate(0)
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def holders(cursor):
    """Who holds the gate's lock: 'pid N (role R, application A, since T)' for each session."""
    cursor.execute(HOLDERS, [LOCK_TABLE])
    return [
        f"pid {pid} (role {role}, {f'application {app}, ' if app else ''}since {_since(since)})"
        for pid, role, app, since in cursor.fetchall()
    ]


def _create_lock_table(cursor):
    """Create `gate_lock` (no columns, no rows) with no role but its owner holding anything."""
    cursor.execute("BEGIN")
    try:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {LOCK_TABLE} ()")
        revoke_others(cursor, [LOCK_TABLE])
        cursor.execute("COMMIT")
    except DatabaseError:
        # Two first runs at once: the other one created it.
        cursor.execute("ROLLBACK")


def _take_lock(cursor, wait):
    cursor.execute("SET application_name = 'migrate_secure'")
    # The lock lives as long as this session's transaction, however long the run takes.
    cursor.execute("SET idle_in_transaction_session_timeout = 0")
    cursor.execute("SELECT to_regclass(%s)", [LOCK_TABLE])
    if cursor.fetchone()[0] is None:
        _create_lock_table(cursor)
    cursor.execute("BEGIN")
    try:
        if wait > 0:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)", [f"{max(1, int(wait * 1000))}ms"]
            )
            cursor.execute(f"LOCK TABLE {LOCK_TABLE} IN EXCLUSIVE MODE")
        else:
            cursor.execute(f"LOCK TABLE {LOCK_TABLE} IN EXCLUSIVE MODE NOWAIT")
    except DatabaseError as error:
        cursor.execute("ROLLBACK")
        if not is_lock_not_available(error):
            raise
        raise GateError(_busy("migration lock", wait, ", ".join(holders(cursor)))) from None


@contextmanager
def migration_lock(alias, wait):
    """Hold the gate's lock for database `alias`, waiting at most `wait` seconds for it; the
    plan must be rebuilt inside it."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with file_lock(sqlite_lock_path(alias, "migrate"), wait, "migration lock"):
            yield
        return
    # A dedicated session: the lock must survive the migrations' own transactions.
    dedicated = connections.create_connection(alias)
    try:
        with dedicated.cursor() as cursor:
            _take_lock(cursor, wait)
        try:
            yield
        finally:
            with dedicated.cursor() as cursor:
                cursor.execute("ROLLBACK")
    finally:
        dedicated.close()
