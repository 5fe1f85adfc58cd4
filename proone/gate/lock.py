"""One migration run at a time: a PostgreSQL advisory lock, or a file lock beside SQLite."""

import fcntl
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from django.db import connections

from . import GateError

# Arbitrary but fixed: every gate process must use the same keys.
MIGRATION_LOCK_KEY = 7_140_001
AUDIT_LOCK_KEY = 7_140_002
POLL_SECONDS = 0.2

_memory_locks = {}


def sqlite_lock_path(alias, purpose):
    """The lock file beside the SQLite database, or None for an in-memory database."""
    name = str(connections[alias].settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return None
    return Path(f"{name}.{purpose}.lock")


@contextmanager
def file_lock(path, timeout, what):
    """Hold an exclusive flock on `path`, waiting at most `timeout` seconds."""
    if path is None:
        lock = _memory_locks.setdefault(what, threading.Lock())
        if not lock.acquire(timeout=timeout):
            raise GateError(f"{what} is busy (waited {timeout:g} s).")
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
                    raise GateError(_busy(what, timeout)) from None
                time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _busy(what, timeout):
    return (
        f"Another migrate_secure run holds the {what} (waited {timeout:g} s). Nothing was "
        "applied. Wait for the other run to finish, then run again (or raise --lock-timeout)."
    )


@contextmanager
def migration_lock(alias, timeout):
    """Hold the gate's lock for database `alias`; the plan must be rebuilt inside it."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        # A dedicated session: the lock must survive the migrations' own transactions.
        dedicated = connections.create_connection(alias)
        try:
            deadline = time.monotonic() + timeout
            with dedicated.cursor() as cursor:
                while True:
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
                    if cursor.fetchone()[0]:
                        break
                    if time.monotonic() >= deadline:
                        raise GateError(_busy("migration lock", timeout))
                    time.sleep(POLL_SECONDS)
            try:
                yield
            finally:
                with dedicated.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])
        finally:
            dedicated.close()
    else:
        with file_lock(sqlite_lock_path(alias, "migrate"), timeout, "migration lock"):
            yield
