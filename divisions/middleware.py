"""Runs every request inside `acting_as(request.user)`."""

from django.contrib import auth
from django.contrib.auth import SESSION_KEY
from django.utils.functional import SimpleLazyObject, empty

from .scoping import acting_as
from .visibility.loaded_divisions import with_visible_divisions


def session_user_id(request):
    """The user id the request's session is signed in as, or None."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    try:
        user_id = int(session[SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None
    return user_id if user_id > 0 else None


class ScopeMiddleware:
    """Scope each request to its user: anonymous visitors see no rows."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Django's own get_user (session hash and backend checks unchanged), reading the
        # user's tenant and division in the same statement (every page's header shows them),
        # and the divisions whose jobs the user may see (the request's queries name them).
        # Reading _wrapped does not load the user (Django's own code does the same).
        user = getattr(request, "user", None)
        if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
            request.user = SimpleLazyObject(lambda: with_visible_divisions(auth.get_user, request))
        # On PostgreSQL the user row itself is under row-level security: the database acts
        # for the session's user while Django loads that row (docs/security.md).
        with acting_as(request.user, principal_id=session_user_id(request)):
            return self.get_response(request)
