"""
Read replicas (DATABASE_REPLICA_URL): the portal's reads on a hot standby, writes on the primary.

`ReplicaMiddleware` lets a request read from the replica when it is a GET or HEAD outside the
admin, its browser wrote nothing in the last READ_YOUR_WRITES seconds (a signed cookie set by
every request that wrote), and the replica is reachable and at most DATABASE_REPLICA_MAX_LAG
seconds behind (checked at most every CHECK_INTERVAL seconds per process). `ReplicaRouter`
then sends the request scope's reads there; the scope enters its signed principal on the
replica's connection on the first such read (divisions/replica_reads.py). Everything else
(writes, a request's reads after its first write, nested scopes, the admin, the migration
gate's own connection, management commands) uses the primary.

The standby runs the same policies and proone_enter() as the primary (they write nothing),
so a read there is scoped exactly as on the primary; without a principal the standby shows
no row.
"""

import contextvars
import logging
import time

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.core.exceptions import MiddlewareNotUsed
from django.core.signing import BadSignature
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from .replica_reads import REPLICA, replica_allowed, replica_reads
from .scoping import current_scope

logger = logging.getLogger("proone.replicas")

COOKIE = "proone_wrote"
SALT = "proone.replicas.wrote"
SAFE_METHODS = ("GET", "HEAD")
CHECK_INTERVAL = 5.0

# The running request's "it wrote" flag (a one-item list the middleware reads afterwards).
_request_wrote = contextvars.ContextVar("proone_request_wrote", default=None)

# Per process: (monotonic time of the check, None when usable or the reason it is not).
_health = [None, None]


def configured():
    """True when DATABASE_REPLICA_URL configured the replica alias."""
    return REPLICA in settings.DATABASES


def read_your_writes_seconds():
    return settings.DATABASE_REPLICA_READ_YOUR_WRITES


def replica_problem():
    """Why reads must not use the replica right now (None: they may), checked briefly cached."""
    now = time.monotonic()
    if _health[0] is not None and now - _health[0] < CHECK_INTERVAL:
        return _health[1]
    problem = _measure()
    if problem != _health[1]:
        if problem:
            logger.warning("read replica not used, reads go to the primary: %s", problem)
        else:
            logger.info("read replica in use again")
    _health[:] = [now, problem]
    return problem


def forget_health():
    """Check the replica again on the next request (tests; after an operator fixed it)."""
    _health[:] = [None, None]


def _measure():
    connection = connections[REPLICA]
    try:
        with connection.cursor() as cursor:
            # Caught up with what it received: no lag. Otherwise the age of the last commit it
            # replayed (an over-estimate when the primary was idle before, never an under-).
            cursor.execute(
                "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() "
                "IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 ELSE COALESCE("
                "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
            )
            in_recovery, lag = cursor.fetchone()
    except DatabaseError as error:
        connection.close()
        return f"unreachable ({str(error).strip().splitlines()[0]})"
    if not in_recovery:
        # A promoted standby is a second primary: reading there would split the data.
        return "it is not a standby (pg_is_in_recovery() is false)"
    limit = settings.DATABASE_REPLICA_MAX_LAG
    if float(lag) > limit:
        return f"{float(lag):.1f}s behind the primary (DATABASE_REPLICA_MAX_LAG is {limit}s)"
    return None


def wrote_recently(request):
    """True when this browser's last write is younger than the read-your-writes window."""
    try:
        request.get_signed_cookie(COOKIE, salt=SALT, max_age=read_your_writes_seconds())
    except (KeyError, BadSignature):
        return False
    return True


def may_read_from_replica(request):
    """The request may read from the replica: a read, not the admin, no recent write."""
    return (
        request.method in SAFE_METHODS
        and not request.path.startswith("/admin/")
        and not wrote_recently(request)
        and replica_problem() is None
    )


class ReplicaMiddleware:
    """Lets a request's reads use the replica; marks the browser of a request that wrote."""

    def __init__(self, get_response):
        if not configured():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        wrote = [False]
        token = _request_wrote.set(wrote)
        try:
            if may_read_from_replica(request):
                with replica_allowed():
                    response = self.get_response(request)
            else:
                response = self.get_response(request)
        finally:
            _request_wrote.reset(token)
        if request.method not in SAFE_METHODS or wrote[0]:
            response.set_signed_cookie(
                COOKIE,
                "1",
                salt=SALT,
                max_age=read_your_writes_seconds(),
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


class ReplicaRouter:
    """Reads of the request's scope go to the replica when it serves them; the rest to the
    primary. Objects loaded through another alias (the migration gate's) keep theirs."""

    def _ours(self, hints):
        instance = hints.get("instance")
        return instance is None or instance._state.db in (None, DEFAULT_DB_ALIAS, REPLICA)

    def db_for_read(self, model, **hints):
        if not self._ours(hints):
            return None
        reads = replica_reads()
        if reads is not None and reads.serves(current_scope()):
            if reads.enter():
                return REPLICA
            # It failed between two checks: the next requests skip it until the next one.
            _health[:] = [time.monotonic(), "unreachable"]
            logger.warning("read replica unreachable: reads go to the primary")
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        if not self._ours(hints):
            return None
        # Read-your-writes: this scope's later reads, and the browser's next requests.
        reads = replica_reads()
        if reads is not None:
            reads.wrote = True
        wrote = _request_wrote.get()
        if wrote is not None:
            wrote[0] = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        pair = {obj1._state.db, obj2._state.db}
        return True if pair <= {DEFAULT_DB_ALIAS, REPLICA} else None

    def allow_migrate(self, db, app_label, **hints):
        # The standby is read-only: it receives the primary's schema through replication.
        return False if db == REPLICA else None


@register(Tags.database)
def replica_check(app_configs, databases=None, **kwargs):
    """`manage.py check --database replica`: warn when reads would fall back to the primary."""
    if not configured() or not databases or REPLICA not in databases:
        return []
    forget_health()
    problem = replica_problem()
    if problem is None:
        return []
    return [
        Warning(
            f"The read replica is not used: {problem}. Reads go to the primary.",
            hint="Check the standby named by DATABASE_REPLICA_URL (docs/scaling.md).",
            id="divisions.W010",
        )
    ]
