"""The DataScope history's actor on SQLite: `proone_principal()` for the history triggers.

On PostgreSQL the triggers read the verified principal (divisions/database/history.sql). SQLite
has none, so each of the app's SQLite connections gets a function of that name returning the
id of the user the ORM acts for (NULL for system work, a sign-in look-up, or nobody), which the
triggers of migration 0028_scope_history_sqlite record.
"""

from django.utils.functional import empty

from .scoping import current_scope


def principal_id():
    """The acting user's id, as the triggers record it; None when no user acts."""
    scope = current_scope()
    if scope is None or scope.is_unscoped or scope.login_name is not None:
        return None
    # A request's lazy user not loaded yet: the signed session's id, never a query from here.
    if getattr(scope.principal, "_wrapped", None) is empty:
        return scope.principal_id
    if not getattr(scope.principal, "is_authenticated", False):
        return None
    return scope.principal.pk


def register(sender, connection, **kwargs):
    """connection_created receiver: give a new SQLite connection `proone_principal()`."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("proone_principal", 0, principal_id)
