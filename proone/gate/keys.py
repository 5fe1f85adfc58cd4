"""The gate key's identity in the audit chain: registered once, required by every gate command.

A key row (event "gate-key") names a key by its id (signing.key_id), never the key, and is
signed by that key; a rotation row is signed by the retired key too. The newest key row names
the current key: the only one that signs, and the only one the commands accept.
"""

from django.db import connections
from django.utils import timezone

from . import GateError, audit, signing
from .models import AuditEntry, SignOff

EVENT = "gate-key"
CONTEXT = "proone-gate-key-v1"
FIX = "see 'The gate key' in docs/migrations.md"


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
    return audit.record(alias, EVENT, outcome, started, detail=detail)


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


def current_key(alias):
    """The gate key when it is the registered current key of `alias`; else a one-line GateError.

    From here on every audit row this process writes names the key's id.
    """
    key = signing.gate_key()
    audit.ACTIVE_KEY_ID.set(signing.key_id(key))
    if not _gate_tables_exist(alias):
        return key  # Not bootstrapped: the command refuses that itself.
    started = timezone.now()
    rows = key_rows(alias)
    if not rows:
        _register_first_use(alias, key, started)
        return key
    registered = rows[-1][1].get("key_id", "")
    given = signing.key_id(key)
    if given != registered:
        retired = " (a retired key)" if any(f.get("key_id") == given for _, f in rows) else ""
        _refuse(
            alias,
            started,
            f"GATE_SIGNING_KEY is key {given}{retired} but the registered gate key of this "
            f"database is {registered} (audit row #{rows[-1][0].pk}): export the registered key "
            f"(or rotate with `migrate_secure --rotate-key`); nothing was done ({FIX}).",
        )
    problems = chain_problems(rows, [key, *signing.fallback_keys()])
    if problems:
        _refuse(alias, started, f"The gate key rows do not check: {problems[0]}; nothing was done.")
    return key


def verifying_keys(alias):
    """The current key and the retired keys in the fallbacks whose ids are in the key rows."""
    key = current_key(alias)
    known = {fields.get("key_id") for _, fields in key_rows(alias)}
    return [key] + [k for k in signing.fallback_keys() if signing.key_id(k) in known]


def rotate(alias):
    """Make GATE_SIGNING_KEY the current key; the current one must be in the fallbacks."""
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
    if given == current:
        _refuse(
            alias,
            started,
            f"GATE_SIGNING_KEY is already the registered key {current}: put the new key in "
            f"GATE_SIGNING_KEY and the current one in {signing.FALLBACKS_VARIABLE}.",
        )
    if any(f.get("key_id") == given for _, f in rows):
        _refuse(alias, started, f"Key {given} was retired; a retired key never comes back.")
    old = next((k for k in signing.fallback_keys() if signing.key_id(k) == current), None)
    if old is None:
        _refuse(
            alias,
            started,
            f"The registered key {current} is not in {signing.FALLBACKS_VARIABLE}: it must sign "
            f"the rotation to key {given}; nothing was done ({FIX}).",
        )
    problems = chain_problems(rows, [key, *signing.fallback_keys()])
    if problems:
        _refuse(alias, started, f"The gate key rows do not check: {problems[0]}; nothing was done.")
    return _write(alias, "rotated", started, key, len(rows), retired=old)


def audit_problems(alias):
    """Every problem --verify-audit reports, the key rows included."""
    keys = verifying_keys(alias)
    rows = key_rows(alias)
    return chain_problems(rows, keys) + audit.verify_audit(alias, keys)
