"""Login history rows (django-axes) for tests, written as system work."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog

from divisions.scoping import unscoped

ADDRESS = "203.0.113.9"
BROWSER = "test browser"


def history_of(username, failures=1):
    """{model name: row}: an attempt with `failures` failures, a sign-in and a failure of
    `username`, from ADDRESS with BROWSER."""
    common = {
        "username": username,
        "ip_address": ADDRESS,
        "user_agent": BROWSER,
        "http_accept": "text/html",
        "path_info": "/accounts/login/",
    }
    with unscoped("test setup"):
        attempt, _ = AccessAttempt.objects.get_or_create(
            **common, defaults={"get_data": "", "post_data": "", "failures_since_start": failures}
        )
        return {
            "accessattempt": attempt,
            "accesslog": AccessLog.objects.create(**common),
            "accessfailurelog": AccessFailureLog.objects.create(**common),
        }
