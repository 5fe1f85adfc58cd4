"""One-use form tokens: issued signed to a user with the page, spent by the submit they name."""

import secrets

from django.core import signing

from .models import LIFETIME

SALT = "submits.form-token"
FIELD = "submit_token"


def issue(user):
    """A new token for one form of `user`'s page; nothing is stored until it is spent."""
    return signing.TimestampSigner(salt=SALT).sign(f"{user.pk}:{secrets.token_urlsafe(16)}")


def key_of(user, token):
    """The key a token names, or None unless it is one issued to `user` in the last LIFETIME."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=LIFETIME)
    except signing.BadSignature:
        return None
    owner, _, key = value.partition(":")
    return f"form:{key}" if key and owner == str(user.pk) else None
