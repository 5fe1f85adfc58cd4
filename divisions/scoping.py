"""Who the ORM acts for, the principal: `acting_as(user)`, `unscoped(reason)`, `ScopeError`."""

import contextvars
import logging
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, SynchronousOnlyOperation
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from . import rls
from .replica_reads import replica_transaction

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


def is_tenant_admin(user):
    """True for a principal who administers their tenant (SPEC: is_tenant_admin and is_staff)."""
    return is_principal(user) and user.is_tenant_admin and user.is_staff


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
            with transaction.atomic(), replica_transaction(scope, outer) as reads:
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
