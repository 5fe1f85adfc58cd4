"""A restore of an older backup, recorded on purpose: a signed audit row that names the restored
point (the newest row that survived) and the anchored rows lost with it, so --verify-audit tells
a restore from a cut tail."""

import json

from django.utils import timezone

from . import GateError, anchor, audit, keys, signing
from .models import AuditEntry
from .plan import require_gate_tables

FIX = "see 'Backups and restores' in docs/operations.md"


def lost_rows(alias, verifying):
    """(newest surviving row id, its hash, {row id: head} of the anchored rows after it that
    are gone and no earlier restore (checked with the keys `verifying`) accounts for)."""
    path = anchor.anchor_path()
    if path is None or not path.exists():
        raise GateError(
            f"{anchor.PATH_VARIABLE} names no anchor file, so nothing tells which rows the "
            f"restore lost: set it to the deployment's anchor; nothing was done ({FIX})."
        )
    valid, problems = audit.restores(alias, verifying)
    if problems:
        raise GateError(f"{problems[0]}; nothing was done.")
    excused = audit.lost_with_restores(valid)
    rows = dict(AuditEntry.objects.using(alias).values_list("id", "row_hash"))
    heads = anchor.anchored_heads(alias, path)
    rewritten = [seq for seq, head in sorted(heads.items()) if seq in rows and rows[seq] != head]
    if rewritten:
        raise GateError(
            f"row {rewritten[0]} differs from the head anchored in {path}: the table holds rows "
            "the anchor does not know, which no restore explains (record a restore before any "
            f"other gate command writes); nothing was done ({FIX})."
        )
    newest = max(rows, default=0)
    lost = {seq: head for seq, head in heads.items() if seq > newest and excused.get(seq) != head}
    return newest, rows.get(newest, audit.GENESIS), lost


def record_restore(alias, reason):
    """Append the signed restore row of database `alias`, and the rotation the restore lost
    again (keys.restore_key); return the restore row."""
    started = timezone.now()
    require_gate_tables(alias)
    key, restored = keys.restore_key(alias)
    reason = " ".join(reason.split())
    if not reason:
        raise GateError(f'Say why in --reason "..." (which backup, which incident) ({FIX}).')
    problems = audit.verify_chain(alias)
    if problems:
        raise GateError(
            f"The restored audit log does not chain ({problems[0]}): a restore keeps whole "
            f"rows; nothing was done ({FIX})."
        )
    newest, head, lost = lost_rows(alias, keys.known_keys(alias, key))
    if not lost:
        raise GateError(
            f"No anchored row is missing: the audit log's newest row {newest} is the newest the "
            f"anchor records, so there is no restore to record; nothing was done ({FIX})."
        )
    body = {
        "restored_to": newest,
        "restored_head": head,
        "lost": {str(seq): lost[seq] for seq in sorted(lost)},
        "reason": reason,
    }
    signer = signing.key_id(key)
    unsaved = AuditEntry(started_at=started)
    signature = signing.mac(
        signing.RESTORE_CONTEXT, signing.restore_fields(unsaved, body, signer), key
    )
    audit.skip_ids(alias, max(lost))
    row = audit.record(
        alias,
        audit.RESTORE,
        "ok",
        started,
        detail=f"key_id={signer}; signature={signature}; {json.dumps(body, sort_keys=True)}",
    )
    if restored is not None:
        keys.reapply_rotation(alias, key, restored)
    return row


def restore_notes(alias):
    """A line for each recorded restore of `alias` whose signature verifies."""
    valid, _ = audit.restores(alias, keys.verifying_keys(alias))
    return [audit.describe_restore(entry, body) for entry, body in valid]
