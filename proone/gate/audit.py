"""The append-only, hash-chained audit log of every attempt and every applied migration."""

import contextvars
import datetime
import getpass
import hashlib
import json
import socket
from contextlib import contextmanager
from functools import cache

import django
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from . import VERSION, GateError, anchor, signing
from .lock import file_lock, sqlite_lock_path
from .models import AuditEntry, SignOff
from .vcs import head_commit

GENESIS = "0" * 64
# The id of the gate key this process checked (keys.current_key); its audit rows name it.
ACTIVE_KEY_ID = contextvars.ContextVar("gate_key_id", default="")
# The event of an access review's attestation (proone/gate/attestation.py).
ATTESTATION = "access_review"
# The event of a restore of an older backup, recorded on purpose (proone/gate/restore.py).
RESTORE = "restore"
CHAINED_FIELDS = [
    "event",
    "outcome",
    "database",
    "os_user",
    "host",
    "db_user",
    "git_commit",
    "tool_version",
    "app_label",
    "migration_name",
    "sha256",
    "signoff_id_ref",
    "reviewer",
    "acknowledged",
    "detail",
    "error",
    "started_at",
    "ended_at",
    "duration_ms",
    "prev_hash",
]


def row_hash(entry):
    """SHA-256 over the chained fields of `entry`, which include the previous row's hash."""
    payload = {}
    for name in CHAINED_FIELDS:
        value = getattr(entry, name)
        if hasattr(value, "isoformat"):
            value = value.astimezone(datetime.UTC).isoformat()
        payload[name] = value
    if entry.attempt is not None:
        # Only when set, so rows written before the field existed keep their hashes.
        payload["attempt"] = entry.attempt
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@cache
def _os_user():
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def db_user(alias):
    """The database role the gate connects as (empty on SQLite)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return cursor.fetchone()[0]


@contextmanager
def _chain_lock(alias):
    connection = connections[alias]
    with transaction.atomic(using=alias):
        if connection.vendor == "postgresql":
            # Appends one at a time; only the owner may take this lock (no role holds a
            # privilege on the audit table but its owner), and readers pass.
            table = connection.ops.quote_name(AuditEntry._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            yield
        else:
            with file_lock(sqlite_lock_path(alias, "audit"), 30, "audit lock"):
                yield


def record(alias, event, outcome, started_at, **fields):
    """Append one row to the audit log of database `alias` and return it."""
    ended_at = timezone.now()
    entry = AuditEntry(
        event=event,
        outcome=outcome,
        database=alias,
        os_user=_os_user(),
        host=socket.gethostname(),
        db_user=db_user(alias),
        git_commit=head_commit(settings.BASE_DIR),
        tool_version=f"{VERSION} (Django {django.get_version()})",
        started_at=started_at,
        ended_at=ended_at,
        duration_ms=int((ended_at - started_at).total_seconds() * 1000),
        **fields,
    )
    entry.acknowledged = list(entry.acknowledged or [])
    key_id = ACTIVE_KEY_ID.get()
    if key_id and "key_id=" not in entry.detail:
        entry.detail = f"{entry.detail}; key_id={key_id}" if entry.detail else f"key_id={key_id}"
    with _chain_lock(alias):
        last = AuditEntry.objects.using(alias).order_by("-id").only("row_hash").first()
        entry.prev_hash = last.row_hash if last else GENESIS
        entry.row_hash = row_hash(entry)
        entry.save(using=alias)
    anchor.append_head(alias, entry)
    return entry


@contextmanager
def refusals(alias, event, started_at, **fields):
    """Record a GateError raised inside as a refused `event` (with `fields`), then re-raise it."""
    try:
        yield
    except GateError as refusal:
        record(alias, event, "refused", started_at, error=str(refusal), **fields)
        raise


def verify_chain(alias):
    """Problems found in the audit chain of `alias` (an empty list when it is intact)."""
    problems = []
    previous = GENESIS
    for entry in AuditEntry.objects.using(alias).order_by("id").iterator():
        if entry.prev_hash != previous:
            problems.append(f"row {entry.pk}: does not follow the row before it (row missing?)")
        if row_hash(entry) != entry.row_hash:
            problems.append(f"row {entry.pk}: content does not match its hash (row altered?)")
        previous = entry.row_hash
    return problems


def unfinished_attempts(alias):
    """Runs that recorded their start and never their end, oldest first, with what was in flight.

    Returns (started row, [labels of migrations that started and never finished]) pairs.
    """
    rows = AuditEntry.objects.using(alias)
    ended = (
        rows.filter(event="run", attempt__isnull=False).exclude(outcome="started").values("attempt")
    )
    unfinished = []
    starts = rows.filter(event="run", outcome="started").exclude(pk__in=ended).order_by("id")
    for start in starts:
        steps = rows.filter(attempt=start.pk).exclude(event="run").order_by("id")
        open_steps = {}
        for step in steps:
            label = f"{step.app_label}.{step.migration_name}"
            if step.outcome == "started":
                open_steps[label] = True
            else:
                open_steps.pop(label, None)
        unfinished.append((start, list(open_steps)))
    return unfinished


def describe_unfinished(start, in_flight):
    """One line for the operator about a run that never finished."""
    flight = ", ".join(in_flight) or "no migration had started"
    return (
        f"run #{start.pk} started {start.started_at:%Y-%m-%d %H:%M:%S} UTC by "
        f"{start.os_user}@{start.host} ({start.detail}) never finished (killed or crashed); "
        f"in flight: {flight}. Check `manage.py showmigrations` and the schema before going on."
    )


def restore_record(entry):
    """(key id, signature, body) of a restore row; body is None when the row has none."""
    parts = entry.detail.split("; ", 2)
    fields = dict(part.split("=", 1) for part in parts[:2] if "=" in part)
    try:
        body = json.loads(parts[2])
    except (IndexError, ValueError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("lost"), dict):
        body = None
    return fields.get("key_id", ""), fields.get("signature", ""), body


def restores(alias, keys):
    """The restore rows of `alias` signed by one of `keys`, as (row, body), oldest first; and a
    problem for each other restore row."""
    keys = [keys] if isinstance(keys, bytes) else keys
    by_id = {signing.key_id(key): key for key in keys}
    valid, problems = [], []
    for entry in AuditEntry.objects.using(alias).filter(event=RESTORE, outcome="ok").order_by("id"):
        signer, signature, body = restore_record(entry)
        key = by_id.get(signer)
        fields = signing.restore_fields(entry, body, signer) if body is not None else None
        if (
            key is None
            or fields is None
            or not signing.verify(signing.RESTORE_CONTEXT, fields, key, signature)
        ):
            problems.append(
                f"row {entry.pk}: restore record: signature does not verify (forged or altered), "
                "so the rows it names stay missing"
            )
        else:
            valid.append((entry, body))
    return valid, problems


def lost_with_restores(valid):
    """{row id: head} of the anchored rows the restore rows `valid` (from restores) account for."""
    return {int(seq): head for _, body in valid for seq, head in body["lost"].items()}


def describe_restore(entry, body):
    """The line --verify-audit prints for a recorded restore."""
    lost = sorted(int(seq) for seq in body["lost"])
    return (
        f"restored on {entry.started_at:%Y-%m-%d} to row {body['restored_to']}; rows "
        f"{lost[0]}..{lost[-1]} recorded in the anchor were lost with the restore (audit row "
        f"#{entry.pk}: {body['reason']})"
    )


def skip_ids(alias, newest):
    """Make the next audit row's id follow `newest`: ids of rows lost with a restore are never
    given again (the anchor still names them with their old heads)."""
    connection = connections[alias]
    table = AuditEntry._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, newest])
        else:
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = max(seq, %s) WHERE name = %s", [newest, table]
            )


def verify_audit(alias, keys):
    """Every problem --verify-audit reports: chain, anchor, unfinished runs, forged sign-offs
    and attestations (each checked with `keys`: the current gate key and the retired ones)."""
    problems = verify_chain(alias)
    valid, problems_of_restores = restores(alias, keys)
    problems += problems_of_restores
    problems += anchor.anchor_problems(alias, excused=lost_with_restores(valid))
    problems += [describe_unfinished(*item) for item in unfinished_attempts(alias)]
    problems += [
        f"sign-off #{signoff.pk} of {signoff.app_label}.{signoff.migration_name} by "
        f"{signoff.reviewer_username!r}: signature does not verify (forged or altered)"
        for signoff in SignOff.objects.using(alias).order_by("id")
        if not signing.signature_valid(signoff, keys)
    ]
    problems += [
        f"row {entry.pk}: access review attestation by {entry.reviewer!r}: signature does not "
        "verify (forged or altered)"
        for entry in AuditEntry.objects.using(alias).filter(event=ATTESTATION, outcome="ok")
        if not signing.attestation_valid(entry, keys)
    ]
    return problems
