"""What a PostgreSQL database holds of the database layer, read from its catalog as SQL."""

# Functions, policies, triggers and row-level security flags of these schemas are the
# database layer's; extensions' own functions (pg_trgm) are not.
SCHEMAS = ("public", "proone_rls")

FUNCTIONS = """
SELECT n.nspname || '.' || p.proname,
       pg_get_functiondef(p.oid),
       NOT has_function_privilege('public', p.oid, 'EXECUTE'),
       pg_get_function_identity_arguments(p.oid)
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY(%(schemas)s) AND p.prokind = 'f'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
"""

POLICIES = """
SELECT c.relname, p.polname, p.polpermissive, p.polcmd,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'public'
                         WHEN r = c.relowner THEN 'owner'
                         ELSE pg_get_userbyid(r) END
             FROM unnest(p.polroles) r ORDER BY 1),
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s)
"""

TRIGGERS = """
SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid, true)
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s) AND NOT t.tgisinternal
"""

ROW_LEVEL_SECURITY = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p')
  AND (c.relrowsecurity OR c.relforcerowsecurity)
"""

SCHEMA_TABLES = """
SELECT n.nspname || '.' || c.relname,
       ARRAY(SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                    || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
             FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum),
       ARRAY(SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k
             WHERE k.conrelid = c.oid ORDER BY 1),
       c.relacl IS NULL OR NOT has_table_privilege('public', c.oid, 'SELECT')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s) AND n.nspname <> 'public' AND c.relkind = 'r'
"""

COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}


def objects(cursor, schemas=SCHEMAS):
    """{key: SQL} for every function, policy, trigger, RLS flag and owned table installed."""
    found = {}
    args = {"schemas": list(schemas)}
    cursor.execute(FUNCTIONS, args)
    for name, definition, revoked, identity in cursor.fetchall():
        sql = definition.rstrip() + ";"
        if revoked:
            sql += f"\nREVOKE ALL ON FUNCTION {name}({identity}) FROM PUBLIC;"
        found[f"function {name.removeprefix('public.')}"] = sql
    cursor.execute(POLICIES, args)
    for table, name, permissive, command, roles, using, check in cursor.fetchall():
        found[f"policy {name} on {table}"] = policy_sql(
            table, name, permissive, COMMANDS[command], roles, using, check
        )
    cursor.execute(TRIGGERS, args)
    for table, name, definition in cursor.fetchall():
        found[f"trigger {name} on {table}"] = definition + ";"
    cursor.execute(ROW_LEVEL_SECURITY, args)
    for table, enabled, forced in cursor.fetchall():
        if enabled:
            found[f"rls {table}"] = f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;"
        if forced:
            found[f"force rls {table}"] = f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;"
    cursor.execute(SCHEMA_TABLES, args)
    for name, columns, constraints, private in cursor.fetchall():
        found[f"table {name}"] = (
            f"-- {name}: " + "; ".join([*columns, *constraints]) + ("" if private else " (public)")
        )
    return found


def policy_sql(table, name, permissive, command, roles, using, check):
    """CREATE POLICY for one policy as the catalog states it."""
    parts = [f"CREATE POLICY {name} ON {table}"]
    if not permissive:
        parts.append("AS RESTRICTIVE")
    if command != "ALL":
        parts.append(f"FOR {command}")
    if list(roles) != ["public"]:
        parts.append("TO " + ", ".join("CURRENT_USER" if r == "owner" else r for r in roles))
    if using is not None:
        parts.append(f"USING ({using})")
    if check is not None:
        parts.append(f"WITH CHECK ({check})")
    return "\n    ".join(parts) + ";"


CLEAR = """
DO $$
DECLARE
    found record;
BEGIN
    FOR found IN
        SELECT p.polname, c.oid::regclass AS relation FROM pg_policy p
        JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY({schemas})
    LOOP
        EXECUTE format('DROP POLICY %I ON %s', found.polname, found.relation);
    END LOOP;
    FOR found IN
        SELECT t.tgname, c.oid::regclass AS relation FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY({schemas}) AND NOT t.tgisinternal
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', found.tgname, found.relation);
    END LOOP;
    FOR found IN
        SELECT c.oid::regclass AS relation FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY({schemas}) AND (c.relrowsecurity OR c.relforcerowsecurity)
    LOOP
        EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY, NO FORCE ROW LEVEL SECURITY',
                       found.relation);
    END LOOP;
    FOR found IN
        SELECT p.oid::regprocedure AS function FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY({schemas}) AND p.prokind = 'f'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP FUNCTION %s', found.function);
    END LOOP;
    DROP SCHEMA IF EXISTS proone_rls CASCADE;
END
$$
"""


def clear(cursor, schemas=SCHEMAS):
    """Remove every object `objects` reads (inside a transaction the caller rolls back)."""
    listed = ", ".join(f"'{name}'" for name in schemas)
    cursor.execute(CLEAR.replace("{schemas}", f"ARRAY[{listed}]::name[]"))
