"""The two PostgreSQL roles: the owner (DDL, migrations) and the app (data only, no bypass)."""

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from .citus_nodes import create_extension, preloads_citus
from .rls import store_signing_key


@dataclass(frozen=True)
class Role:
    """A login role and the database it works in, read from a Django DATABASES entry."""

    name: str
    password: str
    database: str

    @classmethod
    def from_settings(cls, settings_dict, what):
        if not settings_dict or "postgresql" not in settings_dict.get("ENGINE", ""):
            raise ImproperlyConfigured(f"{what} must name a PostgreSQL database.")
        for key in ("USER", "PASSWORD", "NAME"):
            if not settings_dict.get(key):
                raise ImproperlyConfigured(f"{what} has no {key.lower()}.")
        return cls(settings_dict["USER"], settings_dict["PASSWORD"], settings_dict["NAME"])


# Tables that only migrations write (Django's post-migrate step fills the last two), which the
# app reads. A row the app role wrote there would mark a pending migration applied (the gate
# would never run it), point every tenant's admin-log entries and object permissions at
# another model, or turn a permission into another one.
APP_READS_ONLY = ("django_migrations", "django_content_type", "auth_permission")


def read_only_relations():
    """APP_READS_ONLY and their id sequences (the app role holds nothing on the sequences)."""
    return [*APP_READS_ONLY, *(f"{table}_id_seq" for table in APP_READS_ONLY)]


# The app role's privileges on every relation of the project's schemas, and on the database
# (kind 'd'; PUBLIC's count as the app role's), read from the catalog.
APP_GRANTS = """
SELECT c.relname, c.relkind,
       ARRAY(SELECT a.privilege_type FROM aclexplode(c.relacl) a
             WHERE a.grantee = %(app)s::regrole ORDER BY 1)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('public', 'proone_rls') AND c.relkind IN ('r', 'S', 'v', 'm', 'p')
UNION ALL
SELECT d.datname, 'd'::"char",
       ARRAY(SELECT DISTINCT a.privilege_type
             FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
             WHERE a.grantee IN (%(app)s::regrole, 0) ORDER BY 1)
FROM pg_database d WHERE d.datname = current_database()
"""


def granted_to_app(name, kind):
    """The privileges create_db_roles leaves the app role on relation `name` of `kind`: data
    privileges on tables and sequences, nothing on the gate's or the principal's signing keys,
    SELECT only on the tables only migrations write (APP_READS_ONLY); CONNECT alone on the
    database (`_grant`)."""
    if kind == "d":
        return {"CONNECT"}
    none = set(read_only_relations()) - set(APP_READS_ONLY)
    keys = ("signing_key", "retired_signing_key")
    if name.startswith("gate_") or name in none or name in keys or kind in ("v", "m"):
        return set()
    if name in APP_READS_ONLY:
        return {"SELECT"}
    if kind == "S":
        return {"SELECT", "USAGE"}
    return {"SELECT", "INSERT", "UPDATE", "DELETE"}


def app_privilege_drift(cursor, app):
    """{relation: (held, granted)} where the app role's privileges differ from create_db_roles'
    grants; `cursor` reads the catalog (the owner's connection sees every relation)."""
    cursor.execute(APP_GRANTS, {"app": app})
    drift = {}
    for name, kind, privileges in cursor.fetchall():
        held, granted = set(privileges), granted_to_app(name, kind)
        if held != granted:
            drift[name] = (held, granted)
    return drift


ROLE_OPTIONS = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


def create_db_roles(admin_url, owner, app, log=print):
    """Create or update both roles, the database and the grants; idempotent."""
    import psycopg
    from psycopg import sql

    if owner.name == app.name:
        raise ImproperlyConfigured("The owner role and the app role must be different roles.")
    if owner.database != app.database:
        raise ImproperlyConfigured(
            "DATABASE_URL and DATABASE_MIGRATE_URL name different databases."
        )
    ident = sql.Identifier
    with psycopg.connect(admin_url, autocommit=True) as admin:
        if not admin.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]:
            raise ImproperlyConfigured("The admin URL must connect as a superuser.")
        for role, extra in ((owner, "INHERIT"), (app, "NOINHERIT")):
            exists = admin.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", [role.name]
            ).fetchone()
            verb = "ALTER" if exists else "CREATE"
            admin.execute(
                sql.SQL("{} ROLE {} WITH {} {} PASSWORD {}").format(
                    sql.SQL(verb),
                    ident(role.name),
                    sql.SQL(ROLE_OPTIONS),
                    sql.SQL(extra),
                    sql.Literal(role.password),
                )
            )
            log(f"{'altered' if exists else 'created'} role {role.name}")
        # The app role inherits nothing: no membership in the owner or any other role.
        for (granted,) in admin.execute(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
            "JOIN pg_roles a ON a.oid = m.member WHERE a.rolname = %s",
            [app.name],
        ).fetchall():
            admin.execute(sql.SQL("REVOKE {} FROM {}").format(ident(granted), ident(app.name)))
        if admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [owner.database]
        ).fetchone():
            admin.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    ident(owner.database), ident(owner.name)
                )
            )
        else:
            admin.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    ident(owner.database), ident(owner.name)
                )
            )
            log(f"created database {owner.database}")
    with psycopg.connect(admin_url, dbname=owner.database, autocommit=True) as db:
        if preloads_citus(db):  # a Citus cluster's node: each one gets this same run
            create_extension(db, log)
        _grant(db, owner, app)
        owned = db.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE r.rolname = %s",
            [app.name],
        ).fetchone()[0]
        if owned:
            raise ImproperlyConfigured(
                f"The app role {app.name} owns {owned} tables or sequences; reassign them to "
                f"{owner.name} (REASSIGN OWNED BY {app.name} TO {owner.name})."
            )
        if db.execute("SELECT to_regclass('proone_rls.signing_key')").fetchone()[0]:
            with db.transaction(), db.cursor() as cursor:
                retired = store_signing_key(cursor)
            log(f"stored the row-level security signing key and {retired} retired keys")
    log(f"roles ready: owner {owner.name} (migrations), app {app.name} (DATABASE_URL)")


def _grant(db, owner, app):
    from psycopg import sql

    o, a, d = (sql.Identifier(x) for x in (owner.name, app.name, owner.database))
    statements = [
        # Nobody else connects. The app role may not create temporary tables: one named like
        # an app table comes first in the search path, so an injection could leave it on a
        # persistent or pooled connection for the next request, another user's, to read and
        # write.
        sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(d),
        sql.SQL("GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {} TO {}").format(d, o),
        sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(d, a),
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(d, a),
        sql.SQL("ALTER SCHEMA public OWNER TO {}").format(o),
        sql.SQL("REVOKE ALL ON SCHEMA public FROM PUBLIC"),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(a),
        # Tables the owner creates later (migrations) are covered as they appear.
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(o, a),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
            "GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(o, a),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            a
        ),
        sql.SQL(
            "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {}"
        ).format(a),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(a),
    ]
    for statement in statements:
        db.execute(statement)
    # The grants above cover every table; the migration gate's own are the owner's alone.
    for (table,) in db.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S') AND c.relname LIKE 'gate\\_%'"
    ).fetchall():
        db.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(table), a))
    # Tables only migrations write: the app reads them (see APP_READS_ONLY).
    for (table,) in db.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relname = ANY(%s)",
        [read_only_relations()],
    ).fetchall():
        db.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(table), a))
        if table in APP_READS_ONLY:
            db.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(table), a))
