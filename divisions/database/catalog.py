"""What a PostgreSQL database holds of the database layer, read from its catalog as SQL.

Every schema but PostgreSQL's own is read, so nothing installed beside the layer (a function
in another schema, a view, a procedure, a grant) escapes the comparison with the source.
Extensions' own objects (functions, views, tables, schemas: citus has all four) are left out
only while a superuser owns them: a trusted extension's members are the bootstrap superuser's,
so a function the owner role slips into an extension (ALTER EXTENSION ... ADD) is still read.
"""

# An object (`oid` of system catalog `catalog`, owned by `owner`) that is not an extension's
# member owned by a superuser.
NOT_EXTENSIONS = """NOT (EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'catalog'::regclass
                   AND d.objid = oid AND d.deptype = 'e')
           AND (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = owner))"""


def _not_an_extensions(catalog, oid, owner):
    """NOT_EXTENSIONS for `oid` of `catalog`, owned by `owner`."""
    return (
        NOT_EXTENSIONS.replace("'catalog'", f"'{catalog}'")
        .replace("= oid", f"= {oid}")
        .replace("= owner", f"= {owner}")
    )


SCHEMAS = """
SELECT n.oid FROM pg_namespace n
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND {own}
""".replace("{own}", _not_an_extensions("pg_namespace", "n.oid", "n.nspowner"))

# Views and tables of the layer: not those a superuser owns as an extension's member.
OWN_RELATION = _not_an_extensions("pg_class", "c.oid", "c.relowner")

# The functions of the layer: not those a superuser owns as an extension's member.
OWN_FUNCTIONS = """
SELECT p.oid FROM pg_proc p
WHERE p.pronamespace IN ({schemas}) AND p.prokind IN ('f', 'p')
  AND {own}
""".replace("{own}", _not_an_extensions("pg_proc", "p.oid", "p.proowner"))

FUNCTIONS = """
SELECT regexp_replace(p.oid::regproc::text, '^public\\.', ''),
       pg_get_function_identity_arguments(p.oid),
       pg_get_functiondef(p.oid),
       pg_get_userbyid(p.proowner),
       ARRAY(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
             FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
             WHERE a.grantee <> p.proowner ORDER BY 1),
       EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
               AND d.objid = p.oid AND d.deptype = 'e')
FROM pg_proc p
WHERE p.oid IN ({own_functions})
"""

POLICIES = """
SELECT c.oid::regclass::text, p.polname, p.polpermissive, p.polcmd,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'public'
                         WHEN r = c.relowner THEN 'owner'
                         ELSE pg_get_userbyid(r) END
             FROM unnest(p.polroles) r ORDER BY 1),
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
WHERE c.relnamespace IN ({schemas})
"""

TRIGGERS = """
SELECT c.oid::regclass::text, t.tgname, pg_get_triggerdef(t.oid, true)
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relnamespace IN ({schemas}) AND NOT t.tgisinternal
"""

EVENT_TRIGGERS = "SELECT evtname, evtevent, evtfoid::regproc::text FROM pg_event_trigger"

ROW_LEVEL_SECURITY = """
SELECT c.oid::regclass::text, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c
WHERE c.relnamespace IN ({schemas}) AND c.relkind IN ('r', 'p')
  AND (c.relrowsecurity OR c.relforcerowsecurity)
"""

VIEWS = """
SELECT c.oid::regclass::text, c.relkind, pg_get_viewdef(c.oid)
FROM pg_class c
WHERE c.relnamespace IN ({schemas}) AND c.relkind IN ('v', 'm') AND {own_relation}
"""

# Schemas of the layer's own (not public, whose grants create_db_roles makes) and who may
# use them besides their owner.
OWN_SCHEMAS = """
SELECT n.nspname,
       ARRAY(SELECT a.privilege_type || ' ' || CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                                    ELSE pg_get_userbyid(a.grantee) END
             FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
             WHERE a.grantee <> n.nspowner ORDER BY 1)
FROM pg_namespace n
WHERE n.oid IN ({schemas}) AND n.nspname <> 'public'
"""

SCHEMA_TABLES = """
SELECT c.oid::regclass::text,
       ARRAY(SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                    || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
             FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum),
       ARRAY(SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k
             WHERE k.conrelid = c.oid ORDER BY 1),
       ARRAY(SELECT a.privilege_type || ' ' || CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                                    ELSE pg_get_userbyid(a.grantee) END
             FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
             WHERE a.grantee <> c.relowner ORDER BY 1)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.oid IN ({schemas}) AND n.nspname <> 'public' AND c.relkind = 'r' AND {own_relation}
"""


def _run(cursor, query):
    """Execute `query` with its {own_functions}, {own_relation} and {schemas} filled in, and
    fetch its rows."""
    filled = query.replace("{own_functions}", OWN_FUNCTIONS)
    filled = filled.replace("{own_relation}", OWN_RELATION).replace("{schemas}", SCHEMAS)
    cursor.execute(filled)
    return cursor.fetchall() if cursor.description else []


COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}


def objects(cursor):
    """{key: SQL} for every function, policy, trigger, RLS flag, view, schema of its own and
    table in one, as installed."""
    found = {}
    for name, identity, definition, owner, grantees, member in _run(cursor, FUNCTIONS):
        signature = f"{name}({identity})"
        lines = [definition.rstrip() + ";", f"-- owned by {owner}"]
        if member:
            lines.append("-- a member of an extension")
        if "PUBLIC" not in grantees:
            lines.append(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC;")
        lines += [
            f"GRANT EXECUTE ON FUNCTION {signature} TO {grantee};"
            for grantee in grantees
            if grantee != "PUBLIC"
        ]
        found[f"function {signature}"] = "\n".join(lines)
    for table, name, permissive, command, roles, using, check in _run(cursor, POLICIES):
        found[f"policy {name} on {table}"] = policy_sql(
            table, name, permissive, COMMANDS[command], roles, using, check
        )
    for table, name, definition in _run(cursor, TRIGGERS):
        found[f"trigger {name} on {table}"] = definition + ";"
    for name, event, function in _run(cursor, EVENT_TRIGGERS):
        found[f"event trigger {name}"] = f"-- ON {event} EXECUTE {function}"
    for table, enabled, forced in _run(cursor, ROW_LEVEL_SECURITY):
        if enabled:
            found[f"rls {table}"] = f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;"
        if forced:
            found[f"force rls {table}"] = f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;"
    for name, kind, definition in _run(cursor, VIEWS):
        what = "MATERIALIZED VIEW" if kind == "m" else "VIEW"
        found[f"view {name}"] = f"CREATE {what} {name} AS {definition}"
    for name, grants in _run(cursor, OWN_SCHEMAS):
        found[f"schema {name}"] = "\n".join([f"CREATE SCHEMA {name};", *grants])
    for name, columns, constraints, grants in _run(cursor, SCHEMA_TABLES):
        found[f"table {name}"] = f"-- {name}: " + "; ".join([*columns, *constraints, *grants])
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
        SELECT c.oid::regclass AS relation, c.relkind FROM pg_class c
        WHERE c.relnamespace IN ({schemas}) AND c.relkind IN ('v', 'm') AND {own_relation}
    LOOP
        EXECUTE format('DROP %s IF EXISTS %s CASCADE',
                       CASE found.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END,
                       found.relation);
    END LOOP;
    FOR found IN
        SELECT p.polname, c.oid::regclass AS relation FROM pg_policy p
        JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace IN ({schemas})
    LOOP
        EXECUTE format('DROP POLICY %I ON %s', found.polname, found.relation);
    END LOOP;
    FOR found IN
        SELECT t.tgname, c.oid::regclass AS relation FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace IN ({schemas}) AND NOT t.tgisinternal
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', found.tgname, found.relation);
    END LOOP;
    FOR found IN
        SELECT c.oid::regclass AS relation FROM pg_class c
        WHERE c.relnamespace IN ({schemas}) AND (c.relrowsecurity OR c.relforcerowsecurity)
    LOOP
        EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY, NO FORCE ROW LEVEL SECURITY',
                       found.relation);
    END LOOP;
    FOR found IN
        SELECT p.oid::regprocedure AS function, p.prokind,
               (SELECT e.extname FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.deptype = 'e') AS extension
        FROM pg_proc p WHERE p.oid IN ({own_functions})
    LOOP
        IF found.extension IS NOT NULL THEN
            EXECUTE format('ALTER EXTENSION %I DROP FUNCTION %s', found.extension,
                           found.function);
        END IF;
        EXECUTE format('DROP %s %s', CASE found.prokind WHEN 'p' THEN 'PROCEDURE'
                                                        ELSE 'FUNCTION' END, found.function);
    END LOOP;
    FOR found IN
        SELECT n.nspname FROM pg_namespace n
        WHERE n.oid IN ({schemas}) AND n.nspname <> 'public'
    LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', found.nspname);
    END LOOP;
END
$$
"""


def clear(cursor):
    """Remove every object `objects` reads (inside a transaction the caller rolls back): what
    the source states is then all there is to read."""
    _run(cursor, CLEAR)
