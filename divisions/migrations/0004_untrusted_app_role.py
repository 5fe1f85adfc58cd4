"""
PostgreSQL only: the database trusts nothing the app role can rewrite.

0003 put the visibility rule on the job and organisation tables, but the rule read tables the
app role could rewrite freely (users, scopes, object permissions) and the sessions table was a
readable list of keys. Here (see docs/security.md, "What an injection can do, per table"):

- the principal's kind is explicit (`u` user, `s` system, `n` a sign-in look-up by username);
  no user id reads as system, and no user id below 1 can exist;
- tokens live ten seconds and may be dated at most two seconds ahead (clock skew);
- `divisions_user`: a principal reads its own row, tenant admins and division managers their
  tenant's users; only tenant admins (of that tenant) and system work write the columns that
  decide visibility; a sign-in look-up reads the one row with that username;
- tenants: a principal reads its own; only system work writes them;
- scopes, their memberships and their change history: read within the tenant, written only
  by a tenant admin of that tenant or a holder of `change_datascope` on the scope; divisions:
  written only by a tenant admin of that tenant;
- guardian's object permissions: granted only by tenant admins (to their tenant's users, on
  their tenant's scopes) and system work;
- model permissions and groups: written only by system work, except that tenant admins put
  their tenant's users into the tenant admin group;
- `django_session`: no row is visible to the app role; sessions are reached only through
  key-addressed SECURITY DEFINER functions, which store a SHA-256 of the key.

Tables that SECURITY DEFINER functions read to decide a policy (users, object permissions,
sessions) enable row-level security without forcing it, so those functions (owned by the
owner role) read the stored truth and no policy recurses into another.
"""

import importlib

from django.db import migrations

import divisions.models

_0003 = importlib.import_module("divisions.migrations.0003_row_level_security")
PostgresSQL = _0003.PostgresSQL

# --- The principal: an explicit kind, a short life -------------------------------------------
PRINCIPAL = r"""
-- The verified (kind, id) of this transaction's proof, or NULL for nobody. Owner only.
CREATE FUNCTION proone_rls.verified_principal() RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    raw text := current_setting('proone.principal', true);
    parts text[];
BEGIN
    IF raw IS NULL OR raw = '' THEN
        RETURN NULL;
    END IF;
    parts := string_to_array(raw, ':');
    IF coalesce(array_length(parts, 1), 0) <> 3
       OR NOT proone_rls.well_formed(parts[1], parts[2])
       OR parts[3] IS DISTINCT FROM proone_rls.sign(
              parts[1] || ':' || parts[2] || ':' || proone_rls.transaction_binding()) THEN
        RAISE EXCEPTION 'the row-level security principal is forged or from another transaction'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN ARRAY[parts[1], parts[2]];
END
$$;

-- A user is a positive id; system work is the one id 0; a sign-in look-up names a username
-- (hex of its UTF-8 bytes, so no separator can hide in it).
CREATE FUNCTION proone_rls.well_formed(kind text, id text) RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE kind
        WHEN 'u' THEN id ~ '^[1-9][0-9]{0,17}$'
        WHEN 's' THEN id = '0'
        WHEN 'n' THEN id ~ '^([0-9a-f]{2})+$' AND length(id) <= 1200
        ELSE false
    END
$$;

REVOKE ALL ON FUNCTION proone_rls.verified_principal() FROM PUBLIC;
REVOKE ALL ON FUNCTION proone_rls.well_formed(text, text) FROM PUBLIC;

-- Tokens live 10 seconds and may be dated at most 2 seconds ahead of the database's clock.
CREATE OR REPLACE FUNCTION public.proone_enter(token text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parts text[] := string_to_array(token, ':');
    expected text;
    age numeric;
BEGIN
    IF coalesce(array_length(parts, 1), 0) <> 4
       OR NOT coalesce(proone_rls.well_formed(parts[1], parts[2]), false)
       OR parts[3] !~ '^[0-9]{1,12}$' THEN
        RAISE EXCEPTION 'malformed principal token' USING ERRCODE = 'insufficient_privilege';
    END IF;
    expected := proone_rls.sign(parts[1] || ':' || parts[2] || ':' || parts[3]);
    IF expected IS NULL THEN
        RAISE EXCEPTION 'no row-level security signing key is stored in this database'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run manage.py create_db_roles (see docs/security.md).';
    END IF;
    IF parts[4] IS DISTINCT FROM expected THEN
        RAISE EXCEPTION 'principal token signature is invalid'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'The key stored in the database differs from RLS_SIGNING_KEY: '
                         'run manage.py create_db_roles (see docs/security.md).';
    END IF;
    age := extract(epoch FROM clock_timestamp()) - parts[3]::bigint;
    IF age > 10 THEN
        RAISE EXCEPTION 'principal token is older than ten seconds'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Are the app and database clocks in sync?';
    END IF;
    IF age < -2 THEN
        RAISE EXCEPTION 'principal token is dated in the future'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Are the app and database clocks in sync (2 seconds of skew allowed)?';
    END IF;
    PERFORM set_config(
        'proone.principal',
        parts[1] || ':' || parts[2] || ':'
            || proone_rls.sign(parts[1] || ':' || parts[2] || ':' || proone_rls.transaction_binding()),
        true
    );
END
$$;

-- The acting user's id; NULL for system work, a sign-in look-up, or nobody.
CREATE OR REPLACE FUNCTION public.proone_principal() RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    principal text[] := proone_rls.verified_principal();
BEGIN
    IF principal[1] = 'u' THEN
        RETURN principal[2]::bigint;
    END IF;
    RETURN NULL;
END
$$;

-- 'u', 's' or 'n' (see proone_enter), NULL for nobody.
CREATE FUNCTION public.proone_principal_kind() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT (proone_rls.verified_principal())[1] $$;

-- The username a sign-in look-up may read, NULL for any other principal.
CREATE FUNCTION public.proone_login_name() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN p[1] = 'n' THEN convert_from(decode(p[2], 'hex'), 'UTF8') END
    FROM (SELECT proone_rls.verified_principal() AS p) v
$$;

-- System work is a kind of principal, never a user id.
CREATE OR REPLACE FUNCTION public.proone_acting_system() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT coalesce(proone_principal_kind() = 's', false) $$;

-- The rule's functions read the stored user row as the owner, past divisions_user's policies
-- (which would otherwise call them again).
ALTER FUNCTION public.proone_acting_tenant() SECURITY DEFINER;
ALTER FUNCTION public.proone_acting_tenant_admin() SECURITY DEFINER;
ALTER FUNCTION public.proone_visible_divisions() SECURITY DEFINER;

-- The DataScopes of the acting user's tenant that the user holds change_datascope on.
CREATE FUNCTION public.proone_managed_scopes() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT coalesce(array_agg(s.id), '{}')
    FROM guardian_userobjectpermission g
    JOIN auth_permission p ON p.id = g.permission_id
    JOIN django_content_type ct ON ct.id = p.content_type_id AND ct.id = g.content_type_id
    JOIN divisions_user u ON u.id = g.user_id
    JOIN divisions_datascope s ON s.id::text = g.object_pk AND s.tenant_id = u.tenant_id
    WHERE g.user_id = proone_principal() AND u.is_active
      AND ct.app_label = 'divisions' AND ct.model = 'datascope'
      AND p.codename = 'change_datascope'
$$;

-- Every user id of the acting user's tenant (for tenant admins' grants).
CREATE FUNCTION public.proone_tenant_users() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT coalesce(array_agg(u.id), '{}') FROM divisions_user u
    WHERE u.tenant_id = proone_acting_tenant()
$$;

-- The columns that decide what a user sees, as one comparable value.
CREATE FUNCTION public.proone_user_guard(
    tenant_id bigint, division_id bigint, is_active boolean, is_staff boolean,
    is_superuser boolean, is_tenant_admin boolean
) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT format('%s|%s|%s|%s|%s|%s', tenant_id, division_id, is_active, is_staff,
                    is_superuser, is_tenant_admin) $$;

-- The same value for the acting user's row as stored when the statement began.
CREATE FUNCTION public.proone_stored_user_guard() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT proone_user_guard(u.tenant_id, u.division_id, u.is_active, u.is_staff,
                             u.is_superuser, u.is_tenant_admin)
    FROM divisions_user u WHERE u.id = proone_principal()
$$;
"""

# Back to 0003's functions, word for word.
_ORIGINAL = _0003.PRINCIPAL[_0003.PRINCIPAL.index("-- Called by the app") :] + _0003.RULE[
    : _0003.RULE.index("-- The acting user's tenant")
]
UNDO_PRINCIPAL = (
    """
DROP FUNCTION public.proone_stored_user_guard();
DROP FUNCTION public.proone_user_guard(bigint, bigint, boolean, boolean, boolean, boolean);
DROP FUNCTION public.proone_tenant_users();
DROP FUNCTION public.proone_managed_scopes();
ALTER FUNCTION public.proone_visible_divisions() SECURITY INVOKER;
ALTER FUNCTION public.proone_acting_tenant_admin() SECURITY INVOKER;
ALTER FUNCTION public.proone_acting_tenant() SECURITY INVOKER;
DROP FUNCTION public.proone_login_name();
DROP FUNCTION public.proone_principal_kind();
"""
    + _ORIGINAL.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
    + """
DROP FUNCTION proone_rls.verified_principal();
DROP FUNCTION proone_rls.well_formed(text, text);
"""
)

# Fragments of the policies below; each function call is a scalar subquery (once per statement).
SYSTEM = "(SELECT proone_acting_system())"
TENANT = "tenant_id = (SELECT proone_acting_tenant())"
TENANT_ADMIN = "(SELECT proone_acting_tenant_admin())"
MANAGER_OF = "{column} = ANY ((SELECT proone_managed_scopes())::bigint[])"
ME = "id = (SELECT proone_principal())"


def _policies(table, read, write):
    """Row-level security on `table` (not forced: the owner's functions read past it)."""
    return (
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;\n"
        f"CREATE POLICY proone_read ON {table} FOR SELECT USING ({read});\n"
        f"CREATE POLICY proone_insert ON {table} FOR INSERT WITH CHECK ({write});\n"
        f"CREATE POLICY proone_update ON {table} FOR UPDATE USING ({write}) "
        f"WITH CHECK ({write});\n"
        f"CREATE POLICY proone_delete ON {table} FOR DELETE USING ({write});\n"
    )


def _undo_policies(table, *, disable=True):
    sql = "".join(
        f"DROP POLICY proone_{name} ON {table};\n"
        for name in ("read", "insert", "update", "delete")
    )
    if disable:
        sql += f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;\n"
    return sql


# --- Users ----------------------------------------------------------------------------------
# Read: system work, oneself, a sign-in look-up of that username, and the tenant's users for
# its tenant admins and division managers (the admin shows who sees what).
USER_READ = (
    f"{SYSTEM} OR {ME} OR username = (SELECT proone_login_name()) OR ({TENANT} AND "
    f"({TENANT_ADMIN} OR cardinality((SELECT proone_managed_scopes())::bigint[]) > 0))"
)
# Write any column: system work, and tenant admins on their tenant's users (never a superuser).
USER_ADMIN = f"{SYSTEM} OR ({TENANT} AND {TENANT_ADMIN} AND NOT is_superuser)"
# Anyone may update their own row (last_login, password) but not the columns that decide
# visibility: they must equal the stored row's as the statement began.
USERS = (
    "ALTER TABLE divisions_user ADD CONSTRAINT user_id_positive CHECK (id > 0);\n"
    + _policies("divisions_user", USER_READ, USER_ADMIN)
    + f"CREATE POLICY proone_update_self ON divisions_user FOR UPDATE USING ({ME}) "
    f"WITH CHECK ({ME} AND proone_user_guard(tenant_id, division_id, is_active, is_staff, "
    "is_superuser, is_tenant_admin) = (SELECT proone_stored_user_guard()));\n"
)
UNDO_USERS = (
    "DROP POLICY proone_update_self ON divisions_user;\n"
    + _undo_policies("divisions_user")
    + "ALTER TABLE divisions_user DROP CONSTRAINT user_id_positive;\n"
)

# --- Divisions, scopes, memberships, scope history -----------------------------------------
# 0003's single policy per table becomes a read policy (tenant isolation, as before) and write
# policies: tenant admins of the tenant, or (scope tables) the scope's division managers.
TENANT_ISOLATION = f"{SYSTEM} OR {TENANT}"
ORGANISATION = {
    "divisions_division": f"{SYSTEM} OR ({TENANT} AND {TENANT_ADMIN})",
    "divisions_datascope": (
        f"{SYSTEM} OR ({TENANT} AND ({TENANT_ADMIN} OR {MANAGER_OF.format(column='id')}))"
    ),
    "divisions_datascopedivision": (
        f"{SYSTEM} OR ({TENANT} AND ({TENANT_ADMIN} OR "
        f"{MANAGER_OF.format(column='datascope_id')}))"
    ),
    "divisions_datascopechange": (
        f"{SYSTEM} OR ({TENANT} AND ({TENANT_ADMIN} OR "
        f"{MANAGER_OF.format(column='datascope_id')}))"
    ),
}
OLD_POLICY = (
    "CREATE POLICY proone_scope ON {table} USING ({condition}) WITH CHECK ({condition});\n"
)
OLD_CONDITION = (
    "(SELECT proone_acting_system()) OR tenant_id = (SELECT proone_acting_tenant())"
)
ORGANISATION_SQL = "".join(
    f"DROP POLICY proone_scope ON {table};\n"
    f"CREATE POLICY proone_read ON {table} FOR SELECT USING ({TENANT_ISOLATION});\n"
    f"CREATE POLICY proone_insert ON {table} FOR INSERT WITH CHECK ({write});\n"
    f"CREATE POLICY proone_update ON {table} FOR UPDATE USING ({write}) WITH CHECK ({write});\n"
    f"CREATE POLICY proone_delete ON {table} FOR DELETE USING ({write});\n"
    for table, write in ORGANISATION.items()
)
UNDO_ORGANISATION = "".join(
    _undo_policies(table, disable=False)
    + OLD_POLICY.format(table=table, condition=OLD_CONDITION)
    for table in ORGANISATION
)

# --- Tenants --------------------------------------------------------------------------------
# A principal reads its own tenant; tenants are created, renamed and deleted as system work
# (platform operators, in the admin).
TENANTS = _policies("divisions_tenant", f"{SYSTEM} OR id = (SELECT proone_acting_tenant())", SYSTEM)
UNDO_TENANTS = _undo_policies("divisions_tenant")

# --- Object permissions (django-guardian) --------------------------------------------------
DATASCOPE_TYPE = (
    "(SELECT ct.id FROM django_content_type ct "
    "WHERE ct.app_label = 'divisions' AND ct.model = 'datascope')"
)
TENANT_USER = "user_id = ANY ((SELECT proone_tenant_users())::bigint[])"
# A tenant admin grants permissions on their tenant's scopes to their tenant's users; the
# scope subquery is itself under the scopes' tenant isolation.
GRANT = (
    f"{SYSTEM} OR ({TENANT_ADMIN} AND {TENANT_USER} AND content_type_id = {DATASCOPE_TYPE} "
    "AND EXISTS (SELECT 1 FROM divisions_datascope s WHERE s.id::text = object_pk))"
)
PERMISSIONS = _policies(
    "guardian_userobjectpermission",
    f"{SYSTEM} OR user_id = (SELECT proone_principal()) OR ({TENANT_ADMIN} AND {TENANT_USER})",
    GRANT,
) + _policies("guardian_groupobjectpermission", SYSTEM, SYSTEM)

# --- Model permissions and groups -----------------------------------------------------------
# They open admin pages (and the gate's sign-off permission), not jobs; still, an injection
# must not grant them. Tenant admins put their tenant's users into the tenant admin group
# (divisions.demo.TENANT_ADMIN_GROUP, as named when this migration was written), nothing else.
TENANT_ADMIN_GROUP = "Tenant admins"
OWN_OR_TENANT_ADMINS = (
    f"{SYSTEM} OR user_id = (SELECT proone_principal()) OR ({TENANT_ADMIN} AND {TENANT_USER})"
)
GROUPS = (
    _policies(
        "divisions_user_groups",
        OWN_OR_TENANT_ADMINS,
        f"{SYSTEM} OR ({TENANT_ADMIN} AND {TENANT_USER} AND group_id = "
        f"(SELECT g.id FROM auth_group g WHERE g.name = '{TENANT_ADMIN_GROUP}'))",
    )
    + _policies("divisions_user_user_permissions", OWN_OR_TENANT_ADMINS, SYSTEM)
    + _policies("auth_group", "true", SYSTEM)
    + _policies("auth_group_permissions", "true", SYSTEM)
)
GROUP_TABLES = [
    "divisions_user_groups",
    "divisions_user_user_permissions",
    "auth_group",
    "auth_group_permissions",
]
UNDO_PERMISSIONS = "".join(
    _undo_policies(table)
    for table in [
        "guardian_userobjectpermission",
        "guardian_groupobjectpermission",
        *GROUP_TABLES,
    ]
)

# --- Sessions -------------------------------------------------------------------------------
# No policy for the app role: it sees no row and writes none. The functions below (owner,
# SECURITY DEFINER) reach one session by its key, stored as a SHA-256 (first 40 hex digits,
# the column's width), so neither the table nor a backup holds a usable key.
SESSIONS = r"""
ALTER TABLE django_session ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION proone_rls.session_id(session_key text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT left(encode(sha256(convert_to(session_key, 'UTF8')), 'hex'), 40) $$;
REVOKE ALL ON FUNCTION proone_rls.session_id(text) FROM PUBLIC;

CREATE FUNCTION public.proone_session_load(session_key text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT s.session_data FROM django_session s
    WHERE s.session_key = proone_rls.session_id($1) AND s.expire_date > now()
$$;

CREATE FUNCTION public.proone_session_exists(session_key text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM django_session s
                   WHERE s.session_key = proone_rls.session_id($1))
$$;

-- Insert (must_create: false when the key is taken) or update (false when it is gone).
CREATE FUNCTION public.proone_session_save(
    session_key text, session_data text, expire_date timestamptz, must_create boolean
) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF must_create THEN
        INSERT INTO django_session (session_key, session_data, expire_date)
        VALUES (proone_rls.session_id($1), $2, $3)
        ON CONFLICT DO NOTHING;
    ELSE
        UPDATE django_session s SET session_data = $2, expire_date = $3
        WHERE s.session_key = proone_rls.session_id($1);
    END IF;
    RETURN FOUND;
END
$$;

CREATE FUNCTION public.proone_session_delete(session_key text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$ DELETE FROM django_session s WHERE s.session_key = proone_rls.session_id($1) $$;

CREATE FUNCTION public.proone_session_clear_expired() RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$ DELETE FROM django_session s WHERE s.expire_date < now() $$;

-- Keys stored before this migration are not hashes: those sessions end (sign in again).
DELETE FROM django_session;
"""
UNDO_SESSIONS = r"""
DROP FUNCTION public.proone_session_clear_expired();
DROP FUNCTION public.proone_session_delete(text);
DROP FUNCTION public.proone_session_save(text, text, timestamptz, boolean);
DROP FUNCTION public.proone_session_exists(text);
DROP FUNCTION public.proone_session_load(text);
DROP FUNCTION proone_rls.session_id(text);
ALTER TABLE django_session DISABLE ROW LEVEL SECURITY;
DELETE FROM django_session;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("divisions", "0003_row_level_security"),
        ("guardian", "0001_initial"),
        ("sessions", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        # User.objects keeps Django's UserManager, with sign-in's look-up under the rule.
        migrations.AlterModelManagers(
            name="user",
            managers=[("objects", divisions.models.UserManager())],
        ),
        PostgresSQL(PRINCIPAL, UNDO_PRINCIPAL),
        PostgresSQL(USERS, UNDO_USERS),
        PostgresSQL(ORGANISATION_SQL, UNDO_ORGANISATION),
        PostgresSQL(TENANTS, UNDO_TENANTS),
        PostgresSQL(PERMISSIONS + GROUPS, UNDO_PERMISSIONS),
        PostgresSQL(SESSIONS, UNDO_SESSIONS),
    ]
