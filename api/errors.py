"""Every API error is JSON: `{"detail": ...}`, with `errors` per parameter for a 400."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.views import exception_handler

BAD_PARAMETERS = "Some parameters could not be used."


def json_error(exc, context):
    """DRF's handler, with validation errors under one shape."""
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"body": response.data}
        response.data = {"detail": BAD_PARAMETERS, "errors": errors}
    return response


# Exempt: it changes nothing, and a POST to a mistyped path gets the JSON 404, not the CSRF page.
@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any other path under /api/: the same 404 body as a job that is missing or not yours."""
    return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404)
