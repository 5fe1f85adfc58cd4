"""Runs every request inside `acting_as(request.user)`."""

from .scoping import acting_as


class ScopeMiddleware:
    """Scope each request to its user: anonymous visitors see no rows."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_as(request.user):
            return self.get_response(request)
