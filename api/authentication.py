"""Who an API request acts for: its bearer token's user, inside `acting_as` like a page.

A page's scope is entered by divisions.middleware from the session; an API request's by
`acting_for_token` from its `Authorization: Bearer` header, through the same `acting_as`
(on PostgreSQL: the signed principal for the token's user, so row-level security applies to
every query). A session cookie never authenticates the API. The token is checked once per
request, and the request counted against the token's rate (api/throttling.py) in the same
statement, by `TokenMiddleware` before the request's transaction opens.
"""

from contextlib import contextmanager

from django.contrib.auth.models import AnonymousUser
from django.utils.functional import SimpleLazyObject
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from divisions.models import User
from divisions.scoping import acting_as
from divisions.visibility.loaded_divisions import with_visible_divisions

from . import throttling, tokens

INVALID = "The token is not valid: mistyped, expired or revoked, or its user is inactive."


def bearer_token(request):
    """The token of the request's Authorization header ("" for any other scheme), or None
    when the request has no such header."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _user(user_id):
    try:
        return with_visible_divisions(lambda: User.objects.get(pk=user_id))
    except User.DoesNotExist:
        return AnonymousUser()


def checked_bearer(request):
    """The request's usable token as a Bearer (counted in its rate window), or None; checked
    once per request."""
    if not hasattr(request, "api_bearer"):
        token = bearer_token(request)
        request.api_bearer = tokens.check(token, throttling.rate_window()) if token else None
    return request.api_bearer


@contextmanager
def acting_for_token(request):
    """Check the request's bearer token, then run the block acting as its user; as nobody
    (not the session's user) when there is no usable token."""
    bearer = checked_bearer(request)
    if bearer is None:
        with acting_as(None):
            yield
        return
    # Loaded under the principal, as the middleware loads a session's user.
    request.api_user = SimpleLazyObject(lambda: _user(bearer.user_id))
    with acting_as(request.api_user, principal_id=bearer.user_id):
        yield


class BearerAuthentication(BaseAuthentication):
    """The user `acting_for_token` checked; 401 for a missing or unusable token."""

    def authenticate(self, request):
        if bearer_token(request._request) is None:
            return None  # no credentials: DRF answers 401 "not provided"
        bearer = getattr(request._request, "api_bearer", None)
        user = getattr(request._request, "api_user", None)
        if bearer is None or not (user is not None and user.is_authenticated and user.is_active):
            raise AuthenticationFailed(INVALID)
        return user, bearer

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class BearerScheme(OpenApiAuthenticationExtension):
    """The bearer scheme in the OpenAPI schema."""

    target_class = BearerAuthentication
    name = "personalAccessToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token from /account/tokens/ (proone_pat_...).",
        }
