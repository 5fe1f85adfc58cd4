"""Every API error is JSON: `{"detail": ...}`, with `errors` per parameter for a 400.

DRF's handler answers what its views raise on purpose; the project's 500 handler
(proone/views.py) answers here for everything else under /api/, whatever raised it (a view,
the token check, a middleware): a 503 with Retry-After when the database cannot be reached,
gave up on a statement or lost its place in the conversation (an InternalError: a server
connection ended by PgBouncer in the middle of a COMMIT), a 500 otherwise. Django logs both
with their traceback.
"""

from django.db import InterfaceError, InternalError, OperationalError
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.views import exception_handler

BAD_PARAMETERS = "Some parameters could not be used."
SERVER_ERROR = str(exceptions.APIException.default_detail)
UNAVAILABLE = "The service is unavailable for a moment (its database cannot be reached)."
# Seconds a client waits before trying again during a database outage.
UNAVAILABLE_RETRY_AFTER = 10


def for_api(request):
    """True for a request whose path belongs to the API (its errors are JSON)."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return "api" in match.namespaces


def json_error(exc, context):
    """DRF's handler, with validation errors under one shape."""
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"body": response.data}
        response.data = {"detail": BAD_PARAMETERS, "errors": errors}
    return response


def server_error(exc):
    """The JSON answer to an unexpected exception `exc` in an API request."""
    if isinstance(exc, OperationalError | InterfaceError | InternalError):
        response = JsonResponse({"detail": UNAVAILABLE}, status=503)
        response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
        return response
    return JsonResponse({"detail": SERVER_ERROR}, status=500)


# Exempt: it changes nothing, and a POST to a mistyped path gets the JSON 404, not the CSRF page.
@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any other path under /api/: the same 404 body as a job that is missing or not yours."""
    return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404)
