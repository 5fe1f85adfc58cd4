"""The audit chain's head, appended to a place outside the database (GATE_AUDIT_ANCHOR, syslog).

Whoever can write the database (the owner role) can delete the newest audit rows and the chain
still links; the anchor, which the database roles cannot rewrite, remembers how far it went, and
which gate key is the newest (a key line for each key row: registered or rotated), so a deleted
rotation never brings a retired key back. Anchors written before key lines name no key: the
audit table's key rows decide alone.
"""

import datetime
import os
import re
import syslog
import tempfile
from pathlib import Path

from django.db import connections

from . import GateError
from .models import AuditEntry

PATH_VARIABLE = "GATE_AUDIT_ANCHOR"
SYSLOG_VARIABLE = "GATE_AUDIT_SYSLOG"
LINE = re.compile(
    r"^\S+ proone-gate-head db=(?P<db>\S+) seq=(?P<seq>\d+) head=(?P<head>[0-9a-f]{64})$"
)
KEY_LINE = re.compile(
    r"^\S+ proone-gate-key db=(?P<db>\S+) seq=(?P<seq>\d+) key=(?P<key>[0-9a-f]{16})$"
)


def anchor_path():
    """The anchor file the operator named, or None."""
    value = os.environ.get(PATH_VARIABLE, "").strip()
    return Path(value) if value else None


def require_anchor():
    """Refuse to work without an anchor (protected environments)."""
    if anchor_path() is None:
        raise GateError(
            f"{PATH_VARIABLE} is not set. Protected environments anchor the audit log's head "
            "outside the database: set it to an append-only file (e.g. on a log host, "
            "`chattr +a`), see docs/migrations.md."
        )


def require_writable_anchor():
    """Refuse, in one line and before anything is done, an anchor the gate could not append to:
    the file not writable, or (not there yet) its directory missing or not writable."""
    path = anchor_path()
    if path is None:
        return
    try:
        if path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
        else:
            # A file made and gone at once: the directory takes new files.
            tempfile.TemporaryFile(dir=path.parent).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        what = "file" if path.exists() else f"directory {path.parent}"
        raise GateError(
            f"{PATH_VARIABLE} ({path}) cannot be appended to: the {what} is not writable "
            f"({reason}). Point {PATH_VARIABLE} at a file the operator may append to (its "
            "directory must exist), see docs/migrations.md; nothing was done."
        ) from None


def database_identity(alias):
    """The database a head belongs to, the same for every role that connects to it."""
    db = connections[alias].settings_dict
    if connections[alias].vendor == "sqlite":
        return "sqlite:" + str(Path(str(db["NAME"])).resolve())
    host, port = db.get("HOST") or "local", db.get("PORT") or ""
    return f"{connections[alias].vendor}://{host}:{port}/{db['NAME']}"


def _append(alias, entry, kind, fields, what):
    """Append a `kind` line about audit row `entry` to the anchor file and, when asked, syslog."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = f"{stamp} {kind} db={database_identity(alias)} seq={entry.pk} {fields}"
    path = anchor_path()
    if path is not None:
        try:
            # O_APPEND: concurrent writers never overwrite each other's lines.
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            with os.fdopen(fd, "a") as handle:
                handle.write(line + "\n")
        except OSError as error:
            raise GateError(
                f"Audit row #{entry.pk} was written but its {what} could not be appended "
                f"to {PATH_VARIABLE} ({path}): {error}. Fix the anchor, then run "
                "`manage.py migrate_secure --verify-audit`."
            ) from None
    if os.environ.get(SYSLOG_VARIABLE) == "1":
        syslog.syslog(syslog.LOG_NOTICE | syslog.LOG_AUTH, line)


def append_head(alias, entry):
    """Append the new head (row id and hash) to the anchor."""
    _append(alias, entry, "proone-gate-head", f"head={entry.row_hash}", "head")


def append_key(alias, entry, key_id):
    """Append the id of the gate key the key row `entry` made current to the anchor."""
    _append(alias, entry, "proone-gate-key", f"key={key_id}", "key id")


def anchored_keys(alias):
    """The ids of the gate keys the anchor recorded for database `alias`, oldest first (empty
    without an anchor file or in one written before key lines)."""
    path = anchor_path()
    if path is None or not path.exists():
        return []
    identity = database_identity(alias)
    lines = path.read_text(errors="replace").splitlines()
    matches = (KEY_LINE.match(text.strip()) for text in lines)
    return [match["key"] for match in matches if match and match["db"] == identity]


def anchored_heads(alias, path):
    """{row id: head hash} the anchor file recorded for database `alias`."""
    identity = database_identity(alias)
    heads = {}
    for text in path.read_text(errors="replace").splitlines():
        match = LINE.match(text.strip())
        if match and match["db"] == identity:
            heads[int(match["seq"])] = match["head"]
    return heads


def anchor_problems(alias, excused=None):
    """Differences between the audit table and its anchor: a cut tail, rewritten rows. The
    anchored rows in `excused` ({row id: head}) were lost with a recorded restore."""
    path = anchor_path()
    if path is None:
        return []
    if not path.exists():
        return [f"the anchor file {path} ({PATH_VARIABLE}) does not exist"]
    excused = excused or {}
    heads = {
        seq: head for seq, head in anchored_heads(alias, path).items() if excused.get(seq) != head
    }
    rows = dict(AuditEntry.objects.using(alias).values_list("id", "row_hash"))
    problems = [
        f"row {seq}: its hash differs from the head anchored in {path} (row rewritten?)"
        for seq, head in sorted(heads.items())
        if seq in rows and rows[seq] != head
    ]
    missing = sorted(seq for seq in heads if seq not in rows)
    if missing and max(heads) in rows:
        # Rows written after a cut link to the row before it and carry the newest head.
        problems.append(
            f"rows recorded in the anchor {path} are missing from the table (removed, with later "
            f"rows written after them): {', '.join(map(str, missing))}"
        )
    if heads:
        newest = max(heads)
        if newest not in rows:
            kept = max((seq for seq in rows if seq < newest), default=0)
            missing = sorted(seq for seq in heads if seq > kept and seq not in rows)
            problems.append(
                f"the newest audit rows were removed (cut tail): the anchor {path} records row "
                f"{newest} (head {heads[newest][:12]}), but the table's rows stop at row {kept} "
                f"before it; "
                f"rows {kept + 1}..{newest} are missing (anchored and gone: "
                f"{', '.join(map(str, missing))})"
            )
    return problems
