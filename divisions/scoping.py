"""Who the ORM acts for, the principal: `acting_as(user)`, `unscoped(reason)`, `ScopeError`."""

import contextvars
import logging
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, SynchronousOnlyOperation
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

from . import rls

logger = logging.getLogger("proone.scoping")


class ScopeError(RuntimeError):
    """A scoped queryset was evaluated with no active scope."""


class OutOfScope(PermissionDenied):
    """A write would touch a row outside the principal's scope."""


@dataclass(frozen=True)
class Scope:
    """The active scope: a principal (the user the code acts for), or unscoped system work with
    a reason.

    `principal_id` names the principal for the database before `principal` (a request's lazy
    user) is loaded; `login_name` is the sign-in look-up of one user row by username.
    """

    principal: object = None
    reason: str | None = None
    principal_id: int | None = None
    login_name: str | None = None

    @property
    def is_unscoped(self):
        return self.reason is not None


_current = contextvars.ContextVar("proone_scope", default=None)

# The read replica (DATABASE_REPLICA_URL), its alias, and the request's reads served by it.
REPLICA = "replica"
_replica_wanted = contextvars.ContextVar("proone_replica_wanted", default=False)
_replica_reads = contextvars.ContextVar("proone_replica_reads", default=None)


class ReplicaReads:
    """The reads of one outermost scope served by the replica, in a transaction of its own.

    The replica's transaction is opened, and the principal entered there, on the first read
    routed to it (divisions/replicas.py): a scope that never reads from the replica sends it
    nothing. Reads go to the primary once the scope has written (read-your-writes), inside a
    nested scope (its principal lives on the primary's connection only), or when the replica
    could not be reached.
    """

    def __init__(self, scope):
        self.scope = scope
        self.principal = scope
        self.wrote = False
        self.failed = False
        self._stack = None

    def serves(self):
        """True when the next read of the current scope may go to the replica."""
        return not (self.wrote or self.failed) and _current.get() is self.scope

    def enter(self):
        """Open the replica's transaction acting for the principal; False if unreachable."""
        if self._stack is not None:
            return True
        import psycopg

        stack = ExitStack()
        try:
            stack.enter_context(transaction.atomic(using=REPLICA))
            rls.set_principal(self.principal, using=REPLICA)
        except (DatabaseError, psycopg.Error) as error:
            # set_principal speaks to psycopg directly: its errors are psycopg's own.
            # The rollback of a connection that is gone fails too; it is closed just below.
            with suppress(DatabaseError, psycopg.Error):
                stack.__exit__(type(error), error, error.__traceback__)
            connections[REPLICA].close()
            self.failed = True
            return False
        self._stack = stack
        return True

    def act_for(self, scope):
        """Act for `scope` (None: nobody) on the replica too, from now on."""
        self.principal = scope
        if self._stack is not None:
            rls.set_principal(scope, using=REPLICA)

    def close(self, exc_info=(None, None, None)):
        if self._stack is not None:
            self._stack.__exit__(*exc_info)
            self._stack = None


@contextmanager
def replica_allowed():
    """Let the outermost scope entered inside the block read from the replica."""
    token = _replica_wanted.set(True)
    try:
        yield
    finally:
        _replica_wanted.reset(token)


def replica_reads():
    """The ReplicaReads of the running scope, or None when reads stay on the primary."""
    return _replica_reads.get()


def current_scope():
    """The active Scope, or None when no scope is active."""
    return _current.get()


def acting_principal():
    """The user the ORM acts for, or None when no scope is active or it is unscoped."""
    scope = _current.get()
    return None if scope is None or scope.is_unscoped else scope.principal


@contextmanager
def acting_as(user, principal_id=None):
    """Filter every scoped manager for `user` inside the block (None means anonymous).

    With `principal_id` (the user id of a signed session), the database acts for that id
    while `user` (the request's lazy user) loads, and from then on for the loaded user:
    nobody if the session did not sign anyone in.
    """
    with _entered(Scope(principal=user, principal_id=principal_id)):
        yield user


@contextmanager
def looking_up(username):
    """Let the database show the one user row named `username` (sign-in), nothing else."""
    with _entered(Scope(login_name=username)):
        yield


@contextmanager
def unscoped(reason, *, database=True):
    """Let scoped managers return every row inside the block; `reason` is logged."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("unscoped() needs a reason, e.g. unscoped('nightly export')")
    logger.info("unscoped access: %s", reason)
    # database=False is for work on another connection (the migration gate, as the owner
    # role): it must not open a transaction on the app's connection, nor call proone_enter,
    # which does not exist yet while an empty database is being bootstrapped.
    with _entered(Scope(reason=reason), database=database):
        yield


@contextmanager
def within(scope):
    """Re-enter a recorded Scope, e.g. to evaluate a queryset after the block that made it."""
    with _entered(scope):
        yield


def is_principal(user):
    """True when `user` may see anything at all: authenticated, active and in a tenant."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and getattr(user, "tenant_id", None) is not None
    )


def _may_use(connection):
    """Django's async-safety rule for this thread: no database work inside a running event
    loop (unless DJANGO_ALLOW_ASYNC_UNSAFE is set, which only the browser tests do)."""
    try:
        connection.ensure_connection()
    except SynchronousOnlyOperation:
        # The ORM then runs in worker threads with connections of their own, which carry no
        # principal: the database returns nothing to them (fail closed).
        return False
    return True


def _is_user(user, user_id):
    """True when `user` (loaded now, under the principal) is the signed-in user `user_id`."""
    return bool(getattr(user, "is_authenticated", False) and user.pk == user_id)


@contextmanager
def _replica_transaction(scope, outer):
    """ReplicaReads for an outermost scope inside replica_allowed(); else None."""
    if outer is not None or not _replica_wanted.get() or REPLICA not in connections:
        yield None
        return
    reads = ReplicaReads(scope)
    token = _replica_reads.set(reads)
    try:
        yield reads
    except BaseException as error:
        reads.close((type(error), error, error.__traceback__))
        raise
    else:
        reads.close()
    finally:
        _replica_reads.reset(token)


@contextmanager
def _entered(scope, database=True):
    """Make `scope` current; on PostgreSQL, run the block in a transaction acting for it."""
    outer = _current.get()
    token = _current.set(scope)
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        if not (database and rls.enforced() and _may_use(connection)):
            yield
            return
        try:
            # The principal lives exactly as long as this transaction (or savepoint).
            with transaction.atomic(), _replica_transaction(scope, outer) as reads:
                rls.set_principal(scope)
                if scope.principal_id is not None and not _is_user(
                    scope.principal, scope.principal_id
                ):
                    # The session named a user the request did not sign in as: act for nobody.
                    rls.set_principal(None)
                    if reads is not None:
                        reads.act_for(None)
                yield
        finally:
            # A nested scope hands the enclosing transaction back to the outer principal.
            if connection.in_atomic_block and not connection.needs_rollback:
                rls.set_principal(outer)
    finally:
        _current.reset(token)
