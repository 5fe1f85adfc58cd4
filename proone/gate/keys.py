"""The gate key's identity in the audit chain: registered once, required by every gate command.

A key row (event "gate-key") names a key by its id (signing.key_id), never the key, and is
signed by that key; a rotation row is signed by the retired key too. The newest key row names
the current key: the only one that signs, and the only one the commands accept. The anchor
records each key row's key too (anchor.append_key): a key that is not the newest the anchor
records is refused, whatever the table says, so deleting a rotation never revives a retired key.
"""

from django.db import connections
from django.utils import timezone

from . import GateError, anchor, audit, signing
from .models import AuditEntry, SignOff

EVENT = "gate-key"
CONTEXT = "proone-gate-key-v1"
FIX = "see 'The gate key' in docs/migrations.md"
RESTORE_FIX = "see 'Backups and restores' in docs/operations.md"


def _fields(detail):
    return dict(part.split("=", 1) for part in detail.split("; ") if "=" in part)


def _signed(outcome, generation, new_id, retired_id):
    return {"outcome": outcome, "generation": generation, "key_id": new_id, "retired": retired_id}


def key_rows(alias):
    """The key rows of database `alias`, oldest first, as (row, fields of its detail)."""
    rows = AuditEntry.objects.using(alias).filter(
        event=EVENT, outcome__in=("registered", "rotated")
    )
    return [(row, _fields(row.detail)) for row in rows.order_by("id")]


def _write(alias, outcome, started, key, generation, retired=None):
    new_id, retired_id = signing.key_id(key), signing.key_id(retired) if retired else "-"
    signed = _signed(outcome, generation, new_id, retired_id)
    detail = (
        f"key_id={new_id}; retired={retired_id}; generation={generation}; "
        f"signature={signing.mac(CONTEXT, signed, key)}"
    )
    if retired:
        detail += f"; retired_signature={signing.mac(CONTEXT, signed, retired)}"
    entry = audit.record(alias, EVENT, outcome, started, detail=detail)
    anchor.append_key(alias, entry, new_id)
    return entry


def chain_problems(rows, keys):
    """What is wrong with the key rows `rows` (from key_rows), checked with the secrets `keys`."""
    by_id = {signing.key_id(key): key for key in keys}
    problems = []
    previous = None
    for generation, (row, fields) in enumerate(rows):
        new_id, retired_id = fields.get("key_id", ""), fields.get("retired", "-")
        expected = ("registered", "-") if generation == 0 else ("rotated", previous)
        if (row.outcome, retired_id) != expected or fields.get("generation") != str(generation):
            problems.append(
                f"key row #{row.pk}: out of sequence (a key may only be registered once, then "
                "rotated from the current one)"
            )
        signed = _signed(row.outcome, generation, new_id, retired_id)
        checks = [(new_id, "signature")]
        if retired_id != "-":
            checks.append((retired_id, "retired_signature"))
        for kid, name in checks:
            secret = by_id.get(kid)
            if secret is None:
                problems.append(
                    f"key row #{row.pk}: key {kid} is neither GATE_SIGNING_KEY nor in "
                    f"{signing.FALLBACKS_VARIABLE}, so the row cannot be checked"
                )
            elif not signing.verify(CONTEXT, signed, secret, fields.get(name, "")):
                problems.append(f"key row #{row.pk}: {name} does not verify (forged or altered)")
        previous = new_id
    return problems


def _gate_tables_exist(alias):
    return AuditEntry._meta.db_table in connections[alias].introspection.table_names()


def _refuse(alias, started, message):
    audit.record(alias, EVENT, "refused", started, error=message)
    refusal = GateError(message)
    refusal.audited = True
    raise refusal


def register(alias, key, started=None):
    """Record `key` as the gate key of database `alias` (its first key row)."""
    return _write(alias, "registered", started or timezone.now(), key, 0)


def _register_first_use(alias, key, started):
    """No key registered (a database bootstrapped before key ids): trust the first key that
    verifies a sign-off already there (or any key when there is none), as the gate trusts the
    hash of migrations it adopts. Rows no key of the gate signed stay IGNORED as before."""
    signoffs = list(SignOff.objects.using(alias).order_by("id"))
    if signoffs and not any(signing.signature_valid(s, key) for s in signoffs):
        _refuse(
            alias,
            started,
            f"GATE_SIGNING_KEY (key {signing.key_id(key)}) verifies none of the "
            f"{len(signoffs)} sign-offs and no key is registered yet: export the key that "
            f"signed them; nothing was done ({FIX}).",
        )
    register(alias, key, started)


def _refuse_unrecorded(message):
    """Refuse without an audit row (marked audited, so no caller writes one): the key disagrees
    with the anchor, so the table may be a restored copy whose next row ids the anchor already
    names, and a row written there would keep the restore from being recorded."""
    refusal = GateError(message)
    refusal.audited = True
    raise refusal


def _require_anchored(alias, given):
    """Refuse the key `given` (an id) when the anchor records a newer gate key."""
    recorded = anchor.anchored_keys(alias)
    if recorded and given != recorded[-1]:
        _refuse_unrecorded(
            f"GATE_SIGNING_KEY is key {given} but the anchor "
            f"({anchor.PATH_VARIABLE}) records {recorded[-1]} as the newest gate key: a key "
            "rotated away never signs again, whatever the audit table holds; export the newest "
            f"key; nothing was done ({FIX}).",
        )


def current_key(alias):
    """The gate key when it is the registered current key of `alias` and the newest key the
    anchor records; else a one-line GateError.

    From here on every audit row this process writes names the key's id.
    """
    key = signing.gate_key()
    audit.ACTIVE_KEY_ID.set(signing.key_id(key))
    if not _gate_tables_exist(alias):
        return key  # Not bootstrapped: the command refuses that itself.
    started = timezone.now()
    rows = key_rows(alias)
    given = signing.key_id(key)
    if rows and given != rows[-1][1].get("key_id", ""):
        registered = rows[-1][1].get("key_id", "")
        recorded = anchor.anchored_keys(alias)
        if recorded and given == recorded[-1]:
            _refuse_unrecorded(
                f"GATE_SIGNING_KEY is key {given}, the newest the anchor records, but the audit "
                f"table's newest key row names {registered} (audit row #{rows[-1][0].pk}): a "
                "restore from before a rotation; record it first with `migrate_secure "
                f"--record-restore` ({registered} in {signing.FALLBACKS_VARIABLE}); nothing was "
                f"done ({RESTORE_FIX})."
            )
        retired = " (a retired key)" if any(f.get("key_id") == given for _, f in rows) else ""
        _refuse(
            alias,
            started,
            f"GATE_SIGNING_KEY is key {given}{retired} but the registered gate key of this "
            f"database is {registered} (audit row #{rows[-1][0].pk}): export the registered key "
            f"(or rotate with `migrate_secure --rotate-key`); nothing was done ({FIX}).",
        )
    _require_anchored(alias, given)
    if not rows:
        _register_first_use(alias, key, started)
        return key
    problems = chain_problems(rows, [key, *signing.fallback_keys()])
    if problems:
        _refuse(alias, started, f"The gate key rows do not check: {problems[0]}; nothing was done.")
    return key


def restore_key(alias):
    """(gate key, restored key) for `--record-restore`. The restored key is None unless the
    restore lost a rotation: then the gate key must be the newest key the anchor records and the
    restored table's current key must be in the fallbacks, to sign the rotation again
    (reapply_rotation)."""
    key = signing.gate_key()
    given = signing.key_id(key)
    audit.ACTIVE_KEY_ID.set(given)
    rows = key_rows(alias) if _gate_tables_exist(alias) else []
    recorded = anchor.anchored_keys(alias)
    if not rows or not recorded or rows[-1][1].get("key_id") == recorded[-1]:
        return current_key(alias), None
    _require_anchored(alias, given)
    return key, _rotation_source(key, rows, _refuse_unrecorded)


def reapply_rotation(alias, key, restored):
    """Rotate again, from the key `restored` back to `key`, after a restore that lost the
    rotation: the newest key row names the anchor's newest key once more."""
    rows = key_rows(alias)
    return _write(alias, "rotated", timezone.now(), key, len(rows), retired=restored)


def known_keys(alias, key):
    """`key` and the retired keys in the fallbacks whose ids are in the key rows."""
    known = {fields.get("key_id") for _, fields in key_rows(alias)}
    return [key] + [k for k in signing.fallback_keys() if signing.key_id(k) in known]


def verifying_keys(alias):
    """The current key and the retired keys in the fallbacks whose ids are in the key rows."""
    return known_keys(alias, current_key(alias))


def _rotation_source(key, rows, refuse):
    """The current key's secret (from the fallbacks), checked to sign a rotation to `key`;
    `refuse(message)` raises when it may not."""
    given = signing.key_id(key)
    current = rows[-1][1].get("key_id", "")
    if given == current:
        refuse(
            f"GATE_SIGNING_KEY is already the registered key {current}: put the new key in "
            f"GATE_SIGNING_KEY and the current one in {signing.FALLBACKS_VARIABLE}.",
        )
    if any(f.get("key_id") == given for _, f in rows):
        refuse(f"Key {given} was retired; a retired key never comes back.")
    old = next((k for k in signing.fallback_keys() if signing.key_id(k) == current), None)
    if old is None:
        refuse(
            f"The registered key {current} is not in {signing.FALLBACKS_VARIABLE}: it must sign "
            f"the rotation to key {given}; nothing was done ({FIX}).",
        )
    problems = chain_problems(rows, [key, *signing.fallback_keys()])
    if problems:
        refuse(f"The gate key rows do not check: {problems[0]}; nothing was done.")
    return old


def rotate(alias):
    """Make GATE_SIGNING_KEY the current key; the current one must be in the fallbacks and be the
    newest key the anchor records."""
    started = timezone.now()
    key = signing.gate_key()
    given = signing.key_id(key)
    audit.ACTIVE_KEY_ID.set(given)
    rows = key_rows(alias)
    if not rows:
        _refuse(
            alias,
            started,
            "No gate key is registered to rotate from: run any gate command with the current "
            f"key first; nothing was done ({FIX}).",
        )
    current = rows[-1][1].get("key_id", "")
    recorded = anchor.anchored_keys(alias)
    if recorded and current != recorded[-1]:
        _refuse_unrecorded(
            f"The audit table's current gate key is {current} but the anchor "
            f"({anchor.PATH_VARIABLE}) records {recorded[-1]} as the newest: a retired key "
            f"never rotates (rows cut or a restore not recorded); nothing was done ({FIX}).",
        )
    old = _rotation_source(key, rows, lambda message: _refuse(alias, started, message))
    return _write(alias, "rotated", started, key, len(rows), retired=old)


def audit_problems(alias):
    """Every problem --verify-audit reports, the key rows included."""
    keys = verifying_keys(alias)
    rows = key_rows(alias)
    return chain_problems(rows, keys) + audit.verify_audit(alias, keys)
