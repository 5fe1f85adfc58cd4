"""System checks for PostgreSQL row-level security: the app role must not escape it."""

from django.core.checks import Error, Tags, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

from . import rls
from .dbroles import APP_READS_ONLY

HINT = "Connect DATABASE_URL as the app role made by manage.py create_db_roles."


def app_role_problems(rolsuper, rolbypassrls, owned, key_stored, writable=(), temporary=False):
    """The ways the connected role would escape (or break) the policies, as check messages."""
    problems = []
    if rolsuper or rolbypassrls:
        problems.append(
            Error(
                "DATABASE_URL connects as a role that bypasses row-level security "
                "(superuser or BYPASSRLS): the database does not enforce the division rule.",
                hint=HINT,
                id="divisions.E001",
            )
        )
    if owned:
        problems.append(
            Error(
                f"DATABASE_URL connects as a role that owns {owned} tables; an owner can switch "
                "row-level security off.",
                hint=HINT,
                id="divisions.E002",
            )
        )
    if key_stored is False:
        problems.append(
            Error(
                "The database accepts this app's row-level security signing key "
                "(RLS_SIGNING_KEY, else derived from SECRET_KEY) neither as its current key nor "
                "as a retired one: every scoped transaction will fail.",
                hint="Run manage.py create_db_roles, or finish the key's rotation "
                "(docs/operations.md).",
                id="divisions.E003",
            )
        )
    if writable:
        problems.append(
            Error(
                f"DATABASE_URL connects as a role that can write {', '.join(writable)}, which "
                "only migrations write: an injection could rewrite them.",
                hint="Run manage.py create_db_roles or manage.py migrate_secure (either takes "
                "the writes back).",
                id="divisions.E004",
            )
        )
    if temporary:
        problems.append(
            Error(
                "DATABASE_URL connects as a role that may create temporary tables: an injection "
                "could leave one named like an app table on a persistent or pooled connection, "
                "and the next request there, another user's, would read and write it.",
                hint="Run manage.py create_db_roles (it takes TEMPORARY back).",
                id="divisions.E005",
            )
        )
    return problems


@register(Tags.security, Tags.database)
def check_app_role(app_configs, databases=None, **kwargs):
    """On PostgreSQL, the app's role must be subject to the policies (runs with --database)."""
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    if not rls.enforced():
        return []
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper, r.rolbypassrls, "
            "(SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid AND c.relkind IN "
            "('r', 'p') AND c.relnamespace = 'public'::regnamespace), "
            "to_regprocedure('public.proone_enter(text)') IS NOT NULL, "
            "has_database_privilege(current_database(), 'TEMPORARY') "
            "FROM pg_roles r WHERE r.rolname = current_user"
        )
        rolsuper, rolbypassrls, owned, migrated, temporary = cursor.fetchone()
        cursor.execute(
            "SELECT coalesce(array_agg(t ORDER BY t), '{}') FROM unnest(%s::text[]) AS t "
            "WHERE CASE WHEN to_regclass(t) IS NULL THEN false "
            "ELSE has_table_privilege(to_regclass(t), 'INSERT,UPDATE,DELETE,TRUNCATE') "
            "OR has_any_column_privilege(to_regclass(t), 'INSERT,UPDATE') END",
            [list(APP_READS_ONLY)],
        )
        (writable,) = cursor.fetchone()
        key_stored = None
        if migrated and not (rolsuper or rolbypassrls or owned):
            # The app role cannot read the key; a signed system token shows whether it is there.
            try:
                with transaction.atomic():
                    token = rls.principal_token(rls.SYSTEM, 0)
                    rls.execute_bound(connection, "SELECT proone_enter(%s)", [token])
                key_stored = True
            except DatabaseError:
                key_stored = False
    # Before migrations (the owner runs them, and may make temporary tables) and for an owner
    # (E002) there is no app role's connection to guard yet.
    temporary = temporary and migrated and not owned
    return app_role_problems(rolsuper, rolbypassrls, owned, key_stored, writable, temporary)
