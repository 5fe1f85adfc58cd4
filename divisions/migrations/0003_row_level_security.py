"""
PostgreSQL only: row-level security, the signed principal, and same-tenant foreign keys.

The database enforces the SPEC's visibility rule a second time, computed from the tables and
the acting principal (see divisions/rls.py and docs/security.md). On other databases every
operation here is a no-op: the ORM layer alone scopes queries there.
"""

from django.db import migrations

# Every function body pins search_path, so neither a temporary table nor an object in another
# schema can stand in for the tables and functions named here.
PRINCIPAL = r"""
CREATE SCHEMA proone_rls;
REVOKE ALL ON SCHEMA proone_rls FROM PUBLIC;

-- The HMAC-SHA256 key as its two pads, so the built-in sha256() computes a standard HMAC.
-- Only the owner role reads it, through the SECURITY DEFINER functions below.
CREATE TABLE proone_rls.signing_key (
    id integer PRIMARY KEY CHECK (id = 1),
    inner_pad bytea NOT NULL CHECK (length(inner_pad) = 64),
    outer_pad bytea NOT NULL CHECK (length(outer_pad) = 64)
);

CREATE FUNCTION proone_rls.sign(message text) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT encode(sha256(k.outer_pad || sha256(k.inner_pad || convert_to(message, 'UTF8'))), 'hex')
    FROM proone_rls.signing_key k WHERE k.id = 1
$$;

-- What ties a proof to one transaction: this backend and this transaction's start time.
CREATE FUNCTION proone_rls.transaction_binding() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_backend_pid()::text || ':' || extract(epoch FROM now())::text $$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA proone_rls FROM PUBLIC;

-- Called by the app once per transaction with a token it signed (u:<user id> or s:0, the
-- time, the signature); stores a proof bound to this transaction for proone_principal().
CREATE FUNCTION public.proone_enter(token text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parts text[] := string_to_array(token, ':');
    expected text;
BEGIN
    IF coalesce(array_length(parts, 1), 0) <> 4
       OR parts[1] NOT IN ('u', 's')
       OR parts[2] !~ '^[0-9]{1,18}$'
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
    IF abs(extract(epoch FROM clock_timestamp()) - parts[3]::bigint) > 300 THEN
        RAISE EXCEPTION 'principal token is older than five minutes'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Are the app and database clocks in sync?';
    END IF;
    PERFORM set_config(
        'proone.principal',
        parts[1] || ':' || parts[2] || ':'
            || proone_rls.sign(parts[1] || ':' || parts[2] || ':' || proone_rls.transaction_binding()),
        true
    );
END
$$;

-- The acting principal, verified: a user id, 0 for unscoped system work, NULL for nobody.
-- A proof that was forged or copied from another transaction is an error.
CREATE FUNCTION public.proone_principal() RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
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
       OR parts[1] NOT IN ('u', 's')
       OR parts[2] !~ '^[0-9]{1,18}$'
       OR parts[3] IS DISTINCT FROM proone_rls.sign(
              parts[1] || ':' || parts[2] || ':' || proone_rls.transaction_binding()) THEN
        RAISE EXCEPTION 'the row-level security principal is forged or from another transaction'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF parts[1] = 's' THEN
        RETURN 0;
    END IF;
    RETURN parts[2]::bigint;
END
$$;
"""

# The visibility rule, stated once for PostgreSQL from the tables themselves (SPEC "The
# visibility rule"). The policies wrap each call in a scalar subquery, so it runs once per
# statement (an InitPlan), and compare division_id with one array.
RULE = r"""
CREATE FUNCTION public.proone_acting_system() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT coalesce(proone_principal() = 0, false) $$;

-- The acting user's tenant, when the user is active (NULL otherwise: nothing is visible).
CREATE FUNCTION public.proone_acting_tenant() RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT u.tenant_id FROM divisions_user u WHERE u.id = proone_principal() AND u.is_active
$$;

-- Rule 1: a tenant admin (is_tenant_admin and is_staff) sees every job of the tenant.
CREATE FUNCTION public.proone_acting_tenant_admin() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT coalesce((
        SELECT u.is_tenant_admin AND u.is_staff FROM divisions_user u
        WHERE u.id = proone_principal() AND u.is_active AND u.tenant_id IS NOT NULL
    ), false)
$$;

-- Rule 2: divisions D of the user's tenant where D is the user's division, D's scope is
-- everyone, or the user's division is listed in D's scope.
CREATE FUNCTION public.proone_visible_divisions() RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT coalesce(array_agg(d.id), '{}')
    FROM divisions_user u
    JOIN divisions_division d ON d.tenant_id = u.tenant_id
    JOIN divisions_datascope s ON s.id = d.data_scope_id
    WHERE u.id = proone_principal() AND u.is_active
      AND (d.id = u.division_id
           OR s.is_everyone
           OR EXISTS (SELECT 1 FROM divisions_datascopedivision m
                      WHERE m.datascope_id = s.id AND m.division_id = u.division_id))
$$;
"""

TENANT_TABLES = [
    "divisions_division",
    "divisions_datascope",
    "divisions_datascopedivision",
    "divisions_datascopechange",
]
TENANT_ISOLATION = (
    "(SELECT proone_acting_system()) OR tenant_id = (SELECT proone_acting_tenant())"
)
JOB_VISIBILITY = (
    "(SELECT proone_acting_system()) OR (tenant_id = (SELECT proone_acting_tenant()) AND "
    "((SELECT proone_acting_tenant_admin()) OR division_id = ANY ((SELECT proone_visible_divisions())::bigint[])))"
)


def _secure(table, condition):
    return (
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;\n"
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;\n"
        f"CREATE POLICY proone_scope ON {table} USING ({condition}) WITH CHECK ({condition});\n"
    )


def _unsecure(table):
    return (
        f"DROP POLICY proone_scope ON {table};\n"
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;\n"
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;\n"
    )


POLICIES = (
    "".join(_secure(table, TENANT_ISOLATION) for table in TENANT_TABLES)
    + _secure("jobs_job", JOB_VISIBILITY)
)
UNDO_POLICIES = "".join(_unsecure(t) for t in [*TENANT_TABLES, "jobs_job"])

UNDO_FUNCTIONS = """
DROP FUNCTION public.proone_visible_divisions();
DROP FUNCTION public.proone_acting_tenant_admin();
DROP FUNCTION public.proone_acting_tenant();
DROP FUNCTION public.proone_acting_system();
DROP FUNCTION public.proone_principal();
DROP FUNCTION public.proone_enter(text);
DROP SCHEMA proone_rls CASCADE;
"""

# SPEC data model: whatever points at a division (or a scope) must be in the same tenant.
SAME_TENANT = """
ALTER TABLE divisions_division ADD CONSTRAINT division_id_tenant UNIQUE (id, tenant_id);
ALTER TABLE divisions_datascope ADD CONSTRAINT datascope_id_tenant UNIQUE (id, tenant_id);
ALTER TABLE divisions_division ADD CONSTRAINT division_scope_same_tenant
    FOREIGN KEY (data_scope_id, tenant_id) REFERENCES divisions_datascope (id, tenant_id);
ALTER TABLE divisions_datascopedivision ADD CONSTRAINT membership_scope_same_tenant
    FOREIGN KEY (datascope_id, tenant_id) REFERENCES divisions_datascope (id, tenant_id);
ALTER TABLE divisions_datascopedivision ADD CONSTRAINT membership_division_same_tenant
    FOREIGN KEY (division_id, tenant_id) REFERENCES divisions_division (id, tenant_id);
ALTER TABLE divisions_datascopechange ADD CONSTRAINT scopechange_scope_same_tenant
    FOREIGN KEY (datascope_id, tenant_id) REFERENCES divisions_datascope (id, tenant_id);
ALTER TABLE divisions_user ADD CONSTRAINT user_division_same_tenant
    FOREIGN KEY (division_id, tenant_id) REFERENCES divisions_division (id, tenant_id);
ALTER TABLE divisions_user ADD CONSTRAINT user_division_needs_tenant
    CHECK (division_id IS NULL OR tenant_id IS NOT NULL);
ALTER TABLE jobs_job ADD CONSTRAINT job_division_same_tenant
    FOREIGN KEY (division_id, tenant_id) REFERENCES divisions_division (id, tenant_id);
"""
UNDO_SAME_TENANT = """
ALTER TABLE jobs_job DROP CONSTRAINT job_division_same_tenant;
ALTER TABLE divisions_user DROP CONSTRAINT user_division_needs_tenant;
ALTER TABLE divisions_user DROP CONSTRAINT user_division_same_tenant;
ALTER TABLE divisions_datascopechange DROP CONSTRAINT scopechange_scope_same_tenant;
ALTER TABLE divisions_datascopedivision DROP CONSTRAINT membership_division_same_tenant;
ALTER TABLE divisions_datascopedivision DROP CONSTRAINT membership_scope_same_tenant;
ALTER TABLE divisions_division DROP CONSTRAINT division_scope_same_tenant;
ALTER TABLE divisions_datascope DROP CONSTRAINT datascope_id_tenant;
ALTER TABLE divisions_division DROP CONSTRAINT division_id_tenant;
"""


class PostgresSQL(migrations.RunSQL):
    """RunSQL that runs on PostgreSQL only; elsewhere it does nothing."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def store_signing_key(apps, schema_editor):
    """Store the key derived from settings; `create_db_roles` refreshes it after a change."""
    if schema_editor.connection.vendor != "postgresql":
        return
    from divisions.rls import store_signing_key as store

    with schema_editor.connection.cursor() as cursor:
        store(cursor)


class Migration(migrations.Migration):

    dependencies = [
        ("divisions", "0002_datascopechange"),
        ("jobs", "0001_initial"),
    ]

    operations = [
        PostgresSQL(SAME_TENANT, UNDO_SAME_TENANT),
        PostgresSQL(PRINCIPAL + RULE, UNDO_FUNCTIONS),
        migrations.RunPython(store_signing_key, migrations.RunPython.noop),
        PostgresSQL(POLICIES, UNDO_POLICIES),
    ]
