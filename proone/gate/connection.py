"""The database the gate migrates with: DATABASE_MIGRATE (the owner role) when configured."""

from django.conf import settings
from django.db import DatabaseError, connections

from . import GateError
from .anchor import require_anchor, require_writable_anchor
from .models import AuditEntry
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


def _url_setting(alias):
    return "DATABASE_MIGRATE_URL" if alias == MIGRATE_ALIAS else "DATABASE_URL"


def require_connection(alias):
    """Refuse, in one line, a database that does not exist or a server that does not answer."""
    try:
        connections[alias].ensure_connection()
    except DatabaseError as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise GateError(
            f"Cannot connect to the {described(alias)}: {reason}. Check {_url_setting(alias)} "
            "(host, port, database name, role) and that the server is running."
        ) from None


def require_owner(alias):
    """Refuse, in one line, to run the gate as a role that may not write its tables: the app's
    own credentials (DATABASE_MIGRATE_URL unset or equal to DATABASE_URL) on PostgreSQL."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return
    table = AuditEntry._meta.db_table
    if table not in connection.introspection.table_names():
        if not same_credentials_as_app(alias):
            return
        role, allowed = None, False  # the app's credentials may not create tables
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, has_table_privilege(%s, 'INSERT')", [table])
            role, allowed = cursor.fetchone()
    if allowed:
        return
    if alias != MIGRATE_ALIAS:
        why = "DATABASE_MIGRATE_URL is unset, so the gate connects with DATABASE_URL"
    elif same_credentials_as_app(alias):
        why = "DATABASE_MIGRATE_URL connects as DATABASE_URL's role"
    else:
        why = f"DATABASE_MIGRATE_URL connects as role {role!r}, which is not the owner"
    raise GateError(
        f"The {described(alias)} is reached with the application's credentials, which may not "
        f"write the gate's tables: {why}. Set DATABASE_MIGRATE_URL to the owner role's URL "
        "(docs/deploy.md); nothing was done."
    )


def gate_environment(alias):
    """Refuse to run a gate command without the gate key (and, when protected, the anchor), with
    an anchor it cannot append to, or on a database it cannot reach or may not write as the
    gate."""
    gate_key()
    if getattr(settings, "MIGRATIONS_REQUIRE_SIGNOFF", False):
        require_anchor()
    require_writable_anchor()
    require_connection(alias)
    require_owner(alias)
