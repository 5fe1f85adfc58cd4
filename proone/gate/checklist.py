"""The review checklist's questions as lint findings: a new column whose name says it holds a
secret, stored as plain text (MG118), and a new table of a tenant-owned app that the database
source leaves without row-level security (MG119)."""

import re

from django.apps import apps
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import migrations

from . import project

# A word of the column's name that says it holds a secret; pairs are adjacent words.
SECRET_WORDS = {
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "ssn",
    "cardnumber",
    "pan",
    "cvv",
    "cvc",
    "iban",
}
SECRET_PAIRS = {("api", "key"), ("private", "key"), ("card", "number")}
# A word that says the column holds what is left of the secret after hashing or encrypting.
PROTECTED_WORDS = {
    "hash",
    "hashed",
    "digest",
    "hmac",
    "sha1",
    "sha256",
    "sha384",
    "sha512",
    "bcrypt",
    "scrypt",
    "argon2",
    "pbkdf2",
    "encrypted",
    "ciphertext",
}
# Internal types whose value the database holds as the text or bytes it was given.
PLAIN_TYPES = {"CharField", "TextField", "SlugField", "BinaryField", "JSONField"}

# Fields whose values the model's own code hashes: AbstractBaseUser.password holds what
# make_password() returns (algorithm, salt and hash), never the password.
HASHED_FIELDS = {AbstractBaseUser: {"password"}}

WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+[a-z]*", re.ASCII)


def name_words(name):
    """The lower-case words of a field name: snake_case, camelCase and digits split apart."""
    parts = [word.lower() for word in WORD.findall(name)]
    # sha256, argon2: a digit run joins the word before it.
    words = []
    for part in parts:
        if part[0].isdigit() and words:
            words[-1] += part
        else:
            words.append(part)
    return words


def secret_word(name):
    """The word of `name` that says the column holds a secret, or None (also when another
    word says it holds a hash or ciphertext of it)."""
    words = name_words(name)
    if PROTECTED_WORDS & set(words):
        return None
    for pair in zip(words, words[1:], strict=False):
        if pair in SECRET_PAIRS:
            return "_".join(pair)
    return next((word for word in words if word in SECRET_WORDS), None)


def _new_columns(op):
    if isinstance(op, migrations.AddField):
        return [(op.model_name, op.name, op.field)]
    if isinstance(op, migrations.CreateModel):
        return [(op.name, name, field) for name, field in op.fields]
    return []


def holds_hash(app_label, model, name):
    """True when the installed model `app_label.model` inherits field `name` from a class whose
    code stores only hashes in it (HASHED_FIELDS)."""
    try:
        installed = apps.get_model(app_label, model)
    except LookupError:
        return False
    return any(
        issubclass(installed, base) and name in names for base, names in HASHED_FIELDS.items()
    )


def plain_secrets(op, app_label):
    """'model.field: type, named for a <word>' for each new plain-text column named for a secret."""
    found = []
    for model, name, field in _new_columns(op):
        kind = field.get_internal_type()
        word = secret_word(name)
        if word and kind in PLAIN_TYPES and not field.is_relation:
            if holds_hash(app_label, model, name):
                continue
            found.append(f"{model}.{name}: {kind}, named for a {word}")
    return found


def _tables(op, app_label):
    table = op.options.get("db_table") or f"{app_label}_{op.name.lower()}"
    through = [
        field.db_table or f"{table}_{name}"
        for name, field in op.fields
        if field.many_to_many and field.remote_field.through is None
    ]
    return [table, *through]


def tenant_owned(op, app_label):
    """True when `op` creates a table of tenants' rows: its app is one of GATE_TENANT_APPS, or
    the model has a `tenant` relation."""
    if app_label in project.tenant_apps():
        return True
    return any(name == "tenant" and field.is_relation for name, field in op.fields)


def tables_without_row_security(op, app_label):
    """The tables a CreateModel of a tenant-owned app makes that GATE_ROW_SECURITY lacks."""
    if not isinstance(op, migrations.CreateModel):
        return []
    if op.options.get("proxy") or op.options.get("managed", True) is False:
        return []
    if not tenant_owned(op, app_label):
        return []
    secured = project.row_security_tables()
    return [table for table in _tables(op, app_label) if table not in secured]
