"""Checks an API request's bearer token before the request's transaction opens."""

from .authentication import bearer_token, checked_bearer
from .errors import for_api


class TokenMiddleware:
    """Check and count an API request's token in a statement of its own (before
    divisions.middleware.ScopeMiddleware opens the request's transaction).

    The count's row lock then ends with that statement: held to the end of the request, it
    would queue every other request of the same token behind this one, and a request that
    failed would roll its count back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if bearer_token(request) is not None and for_api(request):
            checked_bearer(request)
        return self.get_response(request)
