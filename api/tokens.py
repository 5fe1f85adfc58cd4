"""Personal access tokens: minted once, stored as a SHA-256, checked by that hash.

A token is `proone_pat_` and 43 URL-safe characters (256 random bits): recognisable by secret
scanners, and too long to guess, so one SHA-256 is the right digest (no salt, no slow hash) and
the look-up by digest needs no constant-time comparison. On PostgreSQL the app role cannot read
the token table beyond its own principal's rows; a request's token is checked by the SECURITY
DEFINER function `proone_token_user(token)` (divisions/database/tokens.sql),
which also notes the last use. On other databases the same check runs through the ORM.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Q
from django.utils import timezone

from divisions import rls

from .models import AccessToken

PREFIX = "proone_pat_"
_FORMAT = re.compile(rf"{PREFIX}[A-Za-z0-9_-]{{43}}")
# The last-used time is written at most once a minute per token (stated again in
# proone_token_user(), divisions/database/tokens.sql).
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Bearer:
    """A checked token: its id (the throttle's key) and its user's id."""

    token_id: int
    user_id: int


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


def check(token):
    """The Bearer for a usable token of an active user, or None (bad, revoked, expired)."""
    if not isinstance(token, str) or not _FORMAT.fullmatch(token):
        return None
    connection = connections[DEFAULT_DB_ALIAS]
    if rls.enforced():
        # Bound server-side: the token never shows in pg_stat_activity's query text.
        row = rls.execute_bound(
            connection, "SELECT token_id, user_id FROM proone_token_user(%s)", [token]
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
    return Bearer(token_id, user_id)


def revoke(stored):
    """Revoke `stored` now (once: a revoked token keeps its first revocation time)."""
    if stored.revoked_at is None:
        stored.revoked_at = timezone.now()
        stored.save(update_fields=["revoked_at"])
