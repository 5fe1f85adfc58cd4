"""Record a submit in the transaction of its write; find the earlier one of a repeat."""

import hashlib
import json

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .models import LIFETIME, Submit


def digest(*parts):
    """SHA-256 (hex) of what a submit sent, from JSON-serialisable parts."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def record(user, key, request, status=None, body=""):
    """Record `user`'s submit under `key` in the open transaction, before its write; None the
    first time, else the earlier Submit (which committed; nothing is recorded).

    Of two submits with one key in flight at once, the second waits here for the first's
    transaction (the unique key), then finds its row or, if it rolled back, goes ahead.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("record() belongs in the transaction of the write it names.")
    # Keys live LIFETIME: the user's older ones go (a form token that old is refused anyway).
    Submit.objects.filter(user=user, created_at__lt=timezone.now() - LIFETIME).delete()
    try:
        with transaction.atomic():
            Submit.objects.create(user=user, key=key, request=request, status=status, body=body)
    except IntegrityError:
        return Submit.objects.get(user=user, key=key)
    return None


def answer(user, key, status, body):
    """Store the answer of `user`'s submit under `key` (recorded in this transaction)."""
    Submit.objects.filter(user=user, key=key).update(status=status, body=body)


def in_flight(user, key):
    """True when another transaction holds `user`'s `key` now (PostgreSQL); else hold it until
    this transaction ends. Without such a lock (SQLite) a repeat waits for the first instead."""
    if connection.vendor != "postgresql":
        return False
    lock = int.from_bytes(
        hashlib.sha256(f"{user.pk}:{key}".encode()).digest()[:8], "big", signed=True
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock])
        return not cursor.fetchone()[0]


def purge():
    """Delete every key older than LIFETIME (system work); how many went."""
    deleted, _ = Submit.objects.filter(created_at__lt=timezone.now() - LIFETIME).delete()
    return deleted
