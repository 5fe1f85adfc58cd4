"""django-axes' login history, each record read and written for the username it names.

On PostgreSQL the `axes_*` tables are under row-level security (divisions/database/policies.sql):
a request's own principal (nobody before sign-in, the user after it) reads and writes none of
it. So every record of a sign-in, a failure, a lockout check or a sign-out is read and written
under the sign-in look-up principal of that username (`looking_up`), which shows that
username's rows and no other; resets (`manage.py axes_reset*`) are system work. On SQLite the
scopes change nothing and this is django-axes' database handler unchanged.

Every lockout parameter combination must name the username (settings.AXES_LOCKOUT_PARAMETERS):
a look-up principal sees only its username's rows, so an address-only count would see none.
"""

from contextlib import contextmanager, nullcontext

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username

from .scoping import looking_up, unscoped


def about(username):
    """The scope for records naming `username`; without a name, none (nothing is recorded)."""
    return looking_up(username) if isinstance(username, str) and username else nullcontext()


@contextmanager
def reset(what):
    """System work for a reset of django-axes' records (its management commands)."""
    with unscoped(f"django-axes: reset {what}"):
        yield


class LoginHistoryHandler(AxesDatabaseHandler):
    """AxesDatabaseHandler, run for the username each call is about (settings.AXES_HANDLER)."""

    def get_failures(self, request, credentials=None):
        with about(get_client_username(request, credentials)):
            return super().get_failures(request, credentials)

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        username = get_client_username(request, credentials) if request is not None else None
        if not username:
            # Every lockout counts per username: a failure naming nobody locks nobody out.
            return None
        with about(username):
            return super().user_login_failed(sender, credentials, request, **kwargs)

    def user_logged_in(self, sender, request, user, **kwargs):
        with about(user.get_username()):
            return super().user_logged_in(sender, request, user, **kwargs)

    def user_logged_out(self, sender, request, user, **kwargs):
        with about(user.get_username() if user else None):
            return super().user_logged_out(sender, request, user, **kwargs)

    def reset_attempts(self, *, ip_address=None, username=None, ip_or_username=False):
        with reset("attempts"):
            return super().reset_attempts(
                ip_address=ip_address, username=username, ip_or_username=ip_or_username
            )

    def reset_logs(self, *, age_days=None):
        with reset("access logs"):
            return super().reset_logs(age_days=age_days)

    def reset_failure_logs(self, *, age_days=None):
        with reset("failure logs"):
            return super().reset_failure_logs(age_days=age_days)
