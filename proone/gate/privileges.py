"""On PostgreSQL only the owner holds privileges on the gate's tables, whatever the defaults say.

create_db_roles' default privileges grant the app role data access to every table the owner
creates; after every migration run the gate takes that back on its own tables and sequences,
and leaves other roles only SELECT on the tables that only migrations write
(settings.GATE_APP_READS_ONLY: Django's migration recorder, content types and permissions).
A row written in the recorder by the app role would mark a pending migration applied, and the
gate would never run it.
"""

from django.apps import apps
from django.db import connections

from .project import app_reads_only

# The table whose lock is the gate's mutual exclusion (proone/gate/lock.py): no columns, no
# rows, no privilege for any role but its owner.
LOCK_TABLE = "gate_lock"

GRANTS = """
SELECT DISTINCT c.relkind, c.relname,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
CROSS JOIN LATERAL aclexplode(c.relacl) a
WHERE c.relname = ANY(%s) AND c.relowner = current_user::regrole AND a.grantee <> c.relowner
"""


def gate_relations():
    """The gate's tables and their id sequences, derived from its models, and its lock table."""
    tables = [model._meta.db_table for model in apps.get_app_config("gate").get_models()]
    return [*tables, *(f"{table}_id_seq" for table in tables), LOCK_TABLE]


def revoke_others(cursor, relations, reads_only=()):
    """Revoke every privilege other roles hold on `relations`; those in `reads_only` keep
    SELECT (PUBLIC excepted). Only the owner's session finds rows: other roles own nothing."""
    cursor.execute(GRANTS, [list(relations)])
    quote = cursor.db.ops.quote_name
    for kind, relation, grantee in cursor.fetchall():
        target = "SEQUENCE" if kind == "S" else "TABLE"
        who = "PUBLIC" if grantee == "PUBLIC" else quote(grantee)
        cursor.execute(f"REVOKE ALL ON {target} {quote(relation)} FROM {who}")
        if relation in reads_only and grantee != "PUBLIC":
            # Reading stays: Django's checks list unapplied migrations, and the app
            # looks content types and permissions up.
            cursor.execute(f"GRANT SELECT ON TABLE {quote(relation)} TO {who}")


def revoke_app_privileges(using="default", **kwargs):
    """Revoke other roles' privileges on the gate's relations, and their writes to the tables
    only migrations write (post_migrate receiver)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    reads_only = app_reads_only()
    sequences = [f"{table}_id_seq" for table in reads_only]
    with connection.cursor() as cursor:
        revoke_others(cursor, [*gate_relations(), *reads_only, *sequences], reads_only)
