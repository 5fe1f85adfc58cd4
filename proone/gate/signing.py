"""The gate key: HMAC signatures of sign-offs, with a key the application never holds."""

import hashlib
import hmac
import json
import os

from .errors import GateError

KEY_VARIABLE = "GATE_SIGNING_KEY"
MIN_KEY_LENGTH = 32
# Bump when the signed fields change: old signatures then fail instead of meaning something else.
SIGNOFF_CONTEXT = "proone-gate-signoff-v1"


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


def signoff_message(signoff):
    """The bytes a sign-off's signature covers: what it approves and who approved it."""
    fields = {
        "context": SIGNOFF_CONTEXT,
        "app_label": signoff.app_label,
        "migration_name": signoff.migration_name,
        "kind": signoff.kind,
        "sha256": signoff.sha256,
        "acknowledged": sorted(signoff.acknowledged or []),
        "reviewer_id": signoff.reviewer_id,
        "reviewer": signoff.reviewer_username,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def sign(signoff, key):
    """The hex HMAC-SHA256 of `signoff` under the gate key."""
    return hmac.new(key, signoff_message(signoff), hashlib.sha256).hexdigest()


def signature_valid(signoff, key):
    """True when `signoff` carries the gate key's signature over its current fields."""
    return hmac.compare_digest(sign(signoff, key), signoff.signature or "")
