"""Who the ORM acts for: `acting_as(user)`, `unscoped(reason)` and `ScopeError`."""

import contextvars
import logging
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

logger = logging.getLogger("proone.scoping")


class ScopeError(RuntimeError):
    """A scoped queryset was evaluated with no active scope."""


class OutOfScope(PermissionDenied):
    """A write would touch a row outside the acting user's scope."""


@dataclass(frozen=True)
class Scope:
    """The active scope: a user to filter for, or unscoped system work with a reason."""

    user: object = None
    reason: str | None = None

    @property
    def is_unscoped(self):
        return self.reason is not None


_current = contextvars.ContextVar("proone_scope", default=None)


def current_scope():
    """The active Scope, or None when no scope is active."""
    return _current.get()


def acting_user():
    """The user the ORM acts for, or None when no scope is active or it is unscoped."""
    scope = _current.get()
    return None if scope is None or scope.is_unscoped else scope.user


@contextmanager
def acting_as(user):
    """Filter every scoped manager for `user` inside the block (None means anonymous)."""
    token = _current.set(Scope(user=user))
    try:
        yield user
    finally:
        _current.reset(token)


@contextmanager
def unscoped(reason):
    """Let scoped managers return every row inside the block; `reason` is logged."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("unscoped() needs a reason, e.g. unscoped('nightly export')")
    logger.info("unscoped access: %s", reason)
    token = _current.set(Scope(reason=reason))
    try:
        yield
    finally:
        _current.reset(token)
