"""The database the gate migrates with: DATABASE_MIGRATE (the owner role) when configured."""

from django.conf import settings
from django.db import connections

from .anchor import require_anchor
from .signing import gate_key

MIGRATE_ALIAS = "migrate"


def register_migrate_alias():
    """Add settings.DATABASE_MIGRATE as the `migrate` database alias (same database, owner role)."""
    migrate = getattr(settings, "DATABASE_MIGRATE", None)
    if not migrate or MIGRATE_ALIAS in settings.DATABASES:
        return
    merged = {**connections.settings["default"], **migrate}
    merged.setdefault("TEST", {})
    # The test runner must never build a second test database for this alias.
    merged["TEST"] = {**merged["TEST"], "MIRROR": "default"}
    connections.settings[MIGRATE_ALIAS] = merged
    settings.DATABASES[MIGRATE_ALIAS] = merged


def described(alias):
    """A database as messages name it: its name, and the settings alias it is reached by
    (`migrate` is the owner's connection to the same database as `default`)."""
    return f"database {connections.settings[alias]['NAME']!r} (alias {alias!r})"


def default_alias():
    """`migrate` when DATABASE_MIGRATE is configured, else `default`."""
    return MIGRATE_ALIAS if MIGRATE_ALIAS in connections.settings else "default"


def _identity(db):
    return (
        db.get("ENGINE"),
        db.get("HOST") or "",
        str(db.get("PORT") or ""),
        db.get("NAME"),
        db.get("USER") or "",
    )


def same_credentials_as_app(alias):
    """True when `alias` connects to the app's database as the app's own role (PostgreSQL)."""
    db = connections.settings[alias]
    app = connections.settings["default"]
    if "sqlite" in db.get("ENGINE", ""):
        return False  # SQLite has no roles: the file's permissions are the only privilege.
    return _identity(db) == _identity(app)


def gate_environment():
    """Refuse to run a gate command without the gate key (and, when protected, the anchor)."""
    gate_key()
    if getattr(settings, "MIGRATIONS_REQUIRE_SIGNOFF", False):
        require_anchor()
