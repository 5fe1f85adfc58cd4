"""Personal access tokens: minted once, stored as a SHA-256, checked by that hash.

A token is `proone_pat_` and 43 URL-safe characters (256 random bits): recognisable by secret
scanners, and too long to guess, so one SHA-256 is the right digest (no salt, no slow hash) and
the look-up by digest needs no constant-time comparison. On PostgreSQL the app role cannot read
the token table beyond its own principal's rows; a request's token is checked by the SECURITY
DEFINER function `proone_token_user(token, rate_window)` (divisions/database/tokens.sql),
which also notes the last use and counts the request in the token's rate window. On other
databases the same check and count run through the ORM and one upsert.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from divisions import rls

from .models import AccessToken, RateWindow

PREFIX = "proone_pat_"
_FORMAT = re.compile(rf"{PREFIX}[A-Za-z0-9_-]{{43}}")
# The last-used time is written at most once a minute per token (stated again in
# proone_token_user(), divisions/database/tokens.sql).
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Bearer:
    """A checked token: its id and its user's id; when counted, the requests in its current
    rate window (this one included) and the seconds until that window closes."""

    token_id: int
    user_id: int
    hits: int | None = None
    window_left: float | None = None


def digest(token):
    """The hex SHA-256 stored for `token`."""
    return hashlib.sha256(token.encode()).hexdigest()


def mint(user, name, expires_at=None):
    """A new token for `user`: (the stored AccessToken, the token, shown once)."""
    token = PREFIX + secrets.token_urlsafe(32)
    stored = AccessToken.objects.create(
        user=user, name=name, digest=digest(token), expires_at=expires_at
    )
    return stored, token


def check(token, rate_window=None):
    """The Bearer for a usable token of an active user, or None (bad, revoked, expired).

    With a `rate_window` (a timedelta), the request is counted in the token's window: one
    that opens at the first request after the last one closed."""
    if not isinstance(token, str) or not _FORMAT.fullmatch(token):
        return None
    connection = connections[DEFAULT_DB_ALIAS]
    if rls.enforced():
        # Bound server-side: the token never shows in pg_stat_activity's query text.
        row = rls.execute_bound(
            connection,
            "SELECT token_id, user_id, hits, window_left FROM proone_token_user(%s, %s)",
            [token, rate_window],
        )
        return Bearer(*row) if row else None
    now = timezone.now()
    found = (
        AccessToken.objects.filter(digest=digest(token), revoked_at=None, user__is_active=True)
        .filter(Q(expires_at=None) | Q(expires_at__gt=now))
        .values_list("pk", "user_id", "last_used_at")
        .first()
    )
    if found is None:
        return None
    token_id, user_id, last_used_at = found
    if last_used_at is None or last_used_at < now - LAST_USED_EVERY:
        AccessToken.objects.filter(pk=token_id).update(last_used_at=now)
    if rate_window is None:
        return Bearer(token_id, user_id)
    hits, opened_at = _count(connection, token_id, now, rate_window)
    return Bearer(token_id, user_id, hits, (opened_at + rate_window - now).total_seconds())


# proone_token_user()'s count (divisions/database/tokens.sql), for the other databases: one
# statement, atomic as any single statement is.
COUNT = """
INSERT INTO {table} (token_id, opened_at, hits) VALUES (%s, %s, 1)
ON CONFLICT (token_id) DO UPDATE
SET opened_at = CASE WHEN {table}.opened_at <= %s THEN excluded.opened_at
                     ELSE {table}.opened_at END,
    hits = CASE WHEN {table}.opened_at <= %s THEN 1 ELSE {table}.hits + 1 END
RETURNING hits, opened_at
"""


def _count(connection, token_id, now, rate_window):
    """(requests counted in the token's window, when it opened)."""
    adapt = connection.ops.adapt_datetimefield_value
    closed_before = adapt(now - rate_window)
    with connection.cursor() as cursor:
        cursor.execute(
            COUNT.format(table=RateWindow._meta.db_table),
            [token_id, adapt(now), closed_before, closed_before],
        )
        hits, opened_at = cursor.fetchone()
    if isinstance(opened_at, str):
        opened_at = parse_datetime(opened_at)
    if timezone.is_naive(opened_at):
        opened_at = timezone.make_aware(opened_at, UTC)
    return hits, opened_at


def revoke(stored):
    """Revoke `stored` now (once: a revoked token keeps its first revocation time)."""
    if stored.revoked_at is None:
        stored.revoked_at = timezone.now()
        stored.save(update_fields=["revoked_at"])
