"""The gate key: HMAC signatures of sign-offs, with a key the application never holds."""

import datetime
import hashlib
import hmac
import json
import os
import re

from . import GateError

KEY_VARIABLE = "GATE_SIGNING_KEY"
# Retired gate keys, comma-separated: they verify what they signed, they never sign.
FALLBACKS_VARIABLE = "GATE_SIGNING_KEY_FALLBACKS"
MIN_KEY_LENGTH = 32
# Bump when the signed fields change: old signatures then fail instead of meaning something else.
SIGNOFF_CONTEXT = "proone-gate-signoff-v1"
# v2 also covers the id of the key that signed (sign-offs made before key ids verify as v1).
SIGNOFF_CONTEXT_V2 = "proone-gate-signoff-v2"
KEY_ID_LABEL = b"proone-gate-key-id-v1"


def gate_key():
    """The gate key from the environment of the reviewer or operator; GateError when unusable."""
    value = os.environ.get(KEY_VARIABLE, "")
    if not value:
        raise GateError(
            f"{KEY_VARIABLE} is not set. The gate signs sign-offs with it and checks them with "
            "it: set it in the reviewers' and operators' environment (never the application's), "
            "see docs/migrations.md."
        )
    if len(value) < MIN_KEY_LENGTH:
        raise GateError(
            f"{KEY_VARIABLE} is too short ({len(value)} characters; at least {MIN_KEY_LENGTH}). "
            "Make one with: python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    return value.encode()


def fallback_keys():
    """The retired gate keys in the environment (GATE_SIGNING_KEY_FALLBACKS), in order."""
    values = os.environ.get(FALLBACKS_VARIABLE, "").replace(",", " ").split()
    return [value.encode() for value in values]


def key_id(key):
    """The key's public identity: a keyed fingerprint, which tells nothing about the key."""
    return hmac.new(key, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def message(context, fields):
    """The canonical bytes signed for `fields` (a dict of JSON values) under `context`."""
    return json.dumps(
        {**fields, "context": context}, sort_keys=True, separators=(",", ":")
    ).encode()


def mac(context, fields, key):
    """The hex HMAC-SHA256 of `fields` under the gate key; what the gate stores as a signature."""
    return hmac.new(key, message(context, fields), hashlib.sha256).hexdigest()


def verify(context, fields, key, signature):
    """True when `signature` is the gate key's signature of `fields`."""
    return hmac.compare_digest(mac(context, fields, key), signature or "")


def signoff_fields(signoff):
    """What a sign-off's signature covers: what it approves and who approved it."""
    return {
        "app_label": signoff.app_label,
        "migration_name": signoff.migration_name,
        "kind": signoff.kind,
        "sha256": signoff.sha256,
        "acknowledged": sorted(signoff.acknowledged or []),
        "reviewer_id": signoff.reviewer_id,
        "reviewer": signoff.reviewer_username,
        # For installed packages the author is the release (`installed package X==1.2`).
        "author": signoff.author,
    }


def sign(signoff, key):
    """The signature of `signoff` under the gate key, covering that key's id."""
    return mac(SIGNOFF_CONTEXT_V2, {**signoff_fields(signoff), "key_id": key_id(key)}, key)


def signing_key_id(signoff, keys):
    """The id of the key among `keys` that signed `signoff` (its current fields), or None."""
    if isinstance(keys, bytes):
        keys = [keys]
    fields = signoff_fields(signoff)
    for key in keys:
        signed = {**fields, "key_id": key_id(key)}
        if verify(SIGNOFF_CONTEXT_V2, signed, key, signoff.signature) or verify(
            SIGNOFF_CONTEXT, fields, key, signoff.signature
        ):
            return key_id(key)
    return None


def signature_valid(signoff, keys):
    """True when `signoff` carries the signature of one of `keys` (a key or a list of keys)."""
    return signing_key_id(signoff, keys) is not None


ATTESTATION_CONTEXT = "proone-gate-access-review-v1"
ATTESTATION_SIGNATURE = re.compile(r"\breviewer_id=(\d+); signature=([0-9a-f]{64})\b")


def attestation_fields(entry, reviewer_id):
    """What an access review attestation's signature covers: the report's digest, who, when."""
    return {
        "digest": entry.sha256,
        "reviewer": entry.reviewer,
        "reviewer_id": reviewer_id,
        "at": entry.started_at.astimezone(datetime.UTC).isoformat(),
    }


def attestation_valid(entry, keys):
    """True when the audit row `entry` carries the signature of its attestation by one of
    `keys` (a key or a list of keys: the current gate key and the retired ones)."""
    found = ATTESTATION_SIGNATURE.search(entry.detail)
    if not found:
        return False
    fields = attestation_fields(entry, int(found.group(1)))
    keys = [keys] if isinstance(keys, bytes) else keys
    return any(verify(ATTESTATION_CONTEXT, fields, key, found.group(2)) for key in keys)


RESTORE_CONTEXT = "proone-gate-restore-v1"


def restore_fields(entry, body, signer_id):
    """What a restore record's signature covers: the restored row, the anchored rows lost with
    the restore (ids and hashes), the reason, when, and the id of the key that signed."""
    return {
        **body,
        "at": entry.started_at.astimezone(datetime.UTC).isoformat(),
        "key_id": signer_id,
    }
