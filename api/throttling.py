"""The API's rate limit: API_TOKEN_RATE requests per token, counted in the database.

Every worker counts in the same row (api.models.RateWindow), in the statement that checks the
token (api/tokens.py): at most N answers in a window, wherever the requests land. A window
opens at the token's first request after the previous window closed.
"""

import math
from datetime import timedelta

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from . import tokens

SCOPE = "token"


def token_rate():
    """(requests, window as a timedelta) from API_TOKEN_RATE, or None when unlimited."""
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(SCOPE)
    if rate is None:
        return None
    requests, seconds = SimpleRateThrottle.parse_rate(None, rate)
    return requests, timedelta(seconds=seconds)


def rate_window():
    """The window a request is counted in, or None when nothing is counted."""
    rate = token_rate()
    return rate and rate[1]


class TokenRateThrottle(BaseThrottle):
    """API_TOKEN_RATE requests per token (its id, not its user or address): the 429 carries
    Retry-After, the seconds until the token's window closes."""

    scope = SCOPE

    def allow_request(self, request, view):
        bearer = request.auth
        rate = token_rate()
        if rate is None or not isinstance(bearer, tokens.Bearer) or bearer.hits is None:
            return True
        self.window_left = bearer.window_left
        return bearer.hits <= rate[0]

    def wait(self):
        return max(1, math.ceil(self.window_left))
