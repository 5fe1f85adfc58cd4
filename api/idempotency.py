"""The `Idempotency-Key` request header on the API's POSTs (IETF draft "The Idempotency-Key
HTTP Header Field"): the same key with the same request gets the first answer again, status
and body, and writes once; with another request, 422; while the first is still in flight, 409.
A key is its user's, remembered 24 hours (submits.models.LIFETIME), stored with the write."""

import functools
import json
import re

from django.db import transaction
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from submits import once
from submits.models import KEY_MAX_LENGTH

HEADER = "Idempotency-Key"
# An sf-string ("...") as the draft states it, or the bare value many clients send.
KEY = re.compile(rf'"?([\x20\x21\x23-\x7e]{{1,{KEY_MAX_LENGTH}}})"?')
BAD_KEY = (
    f"Send {HEADER} as 1 to {KEY_MAX_LENGTH} printable ASCII characters, e.g. a UUID in quotes."
)


class KeyReused(APIException):
    status_code = 422
    default_detail = (
        f"This {HEADER} was used for a different request; use a new key for a new request."
    )
    default_code = "idempotency_key_reused"


class KeyInFlight(APIException):
    status_code = 409
    default_detail = (
        f"A request with this {HEADER} is still being processed; retry once it has finished."
    )
    default_code = "idempotency_key_in_flight"


def key_of(request):
    """The request's Idempotency-Key, None without one; a malformed one is a 400."""
    header = request.headers.get(HEADER)
    if header is None:
        return None
    found = KEY.fullmatch(header.strip())
    if not found or found.group(1).strip() == "":
        raise ValidationError({HEADER: [BAD_KEY]})
    return found.group(1)


def idempotent(post):
    """Run the view's `post` once per Idempotency-Key: a success's answer is stored in the
    transaction of its write; an error writes and stores nothing, so the key may be sent again."""

    @functools.wraps(post)
    def wrapper(view, request, *args, **kwargs):
        key = key_of(request)
        if key is None:
            return post(view, request, *args, **kwargs)
        sent = once.digest(request.method, request.path, request.body.decode("utf-8", "replace"))
        with transaction.atomic():
            if once.in_flight(request.user, key):
                raise KeyInFlight
            earlier = once.record(request.user, key, sent)
            if earlier is not None:
                if earlier.request != sent:
                    raise KeyReused
                return _replayed(earlier)
            response = post(view, request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
                return response
            once.answer(
                request.user,
                key,
                response.status_code,
                JSONRenderer().render(response.data).decode(),
            )
        return response

    return wrapper


def _replayed(earlier):
    if not earlier.is_answered:
        raise KeyInFlight
    response = Response(json.loads(earlier.body), status=earlier.status)
    response["Idempotent-Replayed"] = "true"
    return response
