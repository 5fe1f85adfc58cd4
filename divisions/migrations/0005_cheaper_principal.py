"""
PostgreSQL only: the same policies, each of their functions cheap enough to call per statement.

Measured on 0004 (docs/benchmarks.md): the rule's functions were SQL functions with a pinned
search_path, which PostgreSQL never inlines and plans again on every call. Planning the scope
managers' five-table join took 1.7 ms of proone_managed_scopes()'s 2.7 ms; the visible
divisions took 0.7 ms; and each function verified the signed principal through two more SQL
functions (the HMAC and the transaction binding), planned again too. PL/pgSQL keeps each
query's plan for the session, so here every function is PL/pgSQL and the verification is one
function with the HMAC inline:

- `proone_rls.verified_principal()` checks the proof as before (same HMAC, same binding, same
  error), in one function;
- `proone_rls.acting_user()` reads the acting user's row once (as the owner) for the rule;
- the public functions keep their names, signatures and answers, so no policy changes.

Nothing new is written per transaction: the proof stays a transaction-local setting, so a read
replica (a hot standby) can run the same functions.
"""

import importlib
import re

from django.db import migrations

_0003 = importlib.import_module("divisions.migrations.0003_row_level_security")
_0004 = importlib.import_module("divisions.migrations.0004_untrusted_app_role")
PostgresSQL = _0003.PostgresSQL

FUNCTIONS = r"""
-- The verified (kind, id) of this transaction's proof, or NULL for nobody. Owner only.
-- The same check as 0004's, with the HMAC (proone_rls.sign) and the transaction binding
-- (proone_rls.transaction_binding) written inline so their query plan is kept.
CREATE OR REPLACE FUNCTION proone_rls.verified_principal() RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    raw text := current_setting('proone.principal', true);
    parts text[];
    well_formed boolean;
    expected text;
BEGIN
    IF raw IS NULL OR raw = '' THEN
        RETURN NULL;
    END IF;
    parts := string_to_array(raw, ':');
    -- proone_rls.well_formed(), inline (an IF's condition cannot hold a CASE's THEN).
    well_formed := coalesce(array_length(parts, 1), 0) = 3 AND CASE parts[1]
        WHEN 'u' THEN parts[2] ~ '^[1-9][0-9]{0,17}$'
        WHEN 's' THEN parts[2] = '0'
        WHEN 'n' THEN parts[2] ~ '^([0-9a-f]{2})+$' AND length(parts[2]) <= 1200
        ELSE false
    END;
    IF well_formed THEN
        SELECT encode(sha256(k.outer_pad || sha256(k.inner_pad || convert_to(
                   parts[1] || ':' || parts[2] || ':' || pg_backend_pid()::text || ':'
                       || extract(epoch FROM now())::text,
                   'UTF8'))), 'hex')
        INTO expected
        FROM proone_rls.signing_key k WHERE k.id = 1;
        IF parts[3] = expected THEN
            RETURN ARRAY[parts[1], parts[2]];
        END IF;
    END IF;
    RAISE EXCEPTION 'the row-level security principal is forged or from another transaction'
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Called once per transaction: 0004's checks and errors, with the key read once and both
-- HMACs (the token's and the proof's) computed inline.
CREATE OR REPLACE FUNCTION public.proone_enter(token text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parts text[] := string_to_array(token, ':');
    well_formed boolean;
    inner_pad bytea;
    outer_pad bytea;
    principal text;
    age numeric;
BEGIN
    well_formed := coalesce(array_length(parts, 1), 0) = 4 AND coalesce(CASE parts[1]
        WHEN 'u' THEN parts[2] ~ '^[1-9][0-9]{0,17}$'
        WHEN 's' THEN parts[2] = '0'
        WHEN 'n' THEN parts[2] ~ '^([0-9a-f]{2})+$' AND length(parts[2]) <= 1200
        ELSE false
    END, false) AND parts[3] ~ '^[0-9]{1,12}$';
    IF NOT well_formed THEN
        RAISE EXCEPTION 'malformed principal token' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT k.inner_pad, k.outer_pad INTO inner_pad, outer_pad
    FROM proone_rls.signing_key k WHERE k.id = 1;
    IF inner_pad IS NULL THEN
        RAISE EXCEPTION 'no row-level security signing key is stored in this database'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run manage.py create_db_roles (see docs/security.md).';
    END IF;
    principal := parts[1] || ':' || parts[2];
    IF parts[4] IS DISTINCT FROM encode(sha256(outer_pad || sha256(inner_pad || convert_to(
            principal || ':' || parts[3], 'UTF8'))), 'hex') THEN
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
    -- The proof: the same HMAC over the principal and this transaction's binding.
    PERFORM set_config(
        'proone.principal',
        principal || ':' || encode(sha256(outer_pad || sha256(inner_pad || convert_to(
            principal || ':' || pg_backend_pid()::text || ':' || extract(epoch FROM now())::text,
            'UTF8'))), 'hex'),
        true
    );
END
$$;

-- The acting user's row as the rule reads it: (tenant, division, tenant admin) of an active
-- user with a tenant, else NULLs and false. NULL for system work and nobody. Owner only.
CREATE FUNCTION proone_rls.acting_user(
    OUT tenant_id bigint, OUT division_id bigint, OUT tenant_admin boolean
)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    principal text[] := proone_rls.verified_principal();
BEGIN
    tenant_admin := false;
    IF principal[1] IS DISTINCT FROM 'u' THEN
        RETURN;
    END IF;
    SELECT u.tenant_id, u.division_id, u.is_tenant_admin AND u.is_staff
    INTO tenant_id, division_id, tenant_admin
    FROM public.divisions_user u
    WHERE u.id = principal[2]::bigint AND u.is_active AND u.tenant_id IS NOT NULL;
    tenant_admin := coalesce(tenant_admin, false);
END
$$;
REVOKE ALL ON FUNCTION proone_rls.acting_user() FROM PUBLIC;

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
CREATE OR REPLACE FUNCTION public.proone_principal_kind() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN (proone_rls.verified_principal())[1]; END $$;

-- The username a sign-in look-up may read, NULL for any other principal.
CREATE OR REPLACE FUNCTION public.proone_login_name() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    principal text[] := proone_rls.verified_principal();
BEGIN
    IF principal[1] = 'n' THEN
        RETURN convert_from(decode(principal[2], 'hex'), 'UTF8');
    END IF;
    RETURN NULL;
END
$$;

-- System work is a kind of principal, never a user id.
CREATE OR REPLACE FUNCTION public.proone_acting_system() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN coalesce((proone_rls.verified_principal())[1] = 's', false); END $$;

-- The acting user's tenant, when the user is active (NULL otherwise: nothing is visible).
CREATE OR REPLACE FUNCTION public.proone_acting_tenant() RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN (proone_rls.acting_user()).tenant_id; END $$;

-- Rule 1: a tenant admin (is_tenant_admin and is_staff) sees every job of the tenant.
CREATE OR REPLACE FUNCTION public.proone_acting_tenant_admin() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN (proone_rls.acting_user()).tenant_admin; END $$;

-- Rule 2: divisions D of the user's tenant where D is the user's division, D's scope is
-- everyone, or the user's division is listed in D's scope.
CREATE OR REPLACE FUNCTION public.proone_visible_divisions() RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acting record := proone_rls.acting_user();
BEGIN
    IF acting.tenant_id IS NULL THEN
        RETURN '{}';
    END IF;
    RETURN (
        SELECT coalesce(array_agg(d.id), '{}')
        FROM public.divisions_division d
        JOIN public.divisions_datascope s ON s.id = d.data_scope_id
        WHERE d.tenant_id = acting.tenant_id
          AND (d.id = acting.division_id
               OR s.is_everyone
               -- The scopes listing the user's division, read once by its index (an
               -- EXISTS here hashed every membership of every tenant).
               OR s.id = ANY (ARRAY(SELECT m.datascope_id
                                    FROM public.divisions_datascopedivision m
                                    WHERE m.division_id = acting.division_id)))
    );
END
$$;

-- The DataScopes of the acting user's tenant that the user holds change_datascope on.
CREATE OR REPLACE FUNCTION public.proone_managed_scopes() RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acting_id bigint := public.proone_principal();
BEGIN
    IF acting_id IS NULL THEN
        RETURN '{}';
    END IF;
    RETURN (
        SELECT coalesce(array_agg(s.id), '{}')
        FROM public.guardian_userobjectpermission g
        JOIN public.auth_permission p ON p.id = g.permission_id
        JOIN public.django_content_type ct
            ON ct.id = p.content_type_id AND ct.id = g.content_type_id
        JOIN public.divisions_user u ON u.id = g.user_id
        JOIN public.divisions_datascope s ON s.id::text = g.object_pk AND s.tenant_id = u.tenant_id
        WHERE g.user_id = acting_id AND u.is_active
          AND ct.app_label = 'divisions' AND ct.model = 'datascope'
          AND p.codename = 'change_datascope'
    );
END
$$;

-- Every user id of the acting user's tenant (for tenant admins' grants).
CREATE OR REPLACE FUNCTION public.proone_tenant_users() RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tenant bigint := (proone_rls.acting_user()).tenant_id;
BEGIN
    RETURN (SELECT coalesce(array_agg(u.id), '{}') FROM public.divisions_user u
            WHERE u.tenant_id = tenant);
END
$$;

-- The columns that decide what a user sees, for the acting user's row as stored when the
-- statement began.
CREATE OR REPLACE FUNCTION public.proone_stored_user_guard() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acting_id bigint := public.proone_principal();
BEGIN
    RETURN (
        SELECT public.proone_user_guard(u.tenant_id, u.division_id, u.is_active, u.is_staff,
                                        u.is_superuser, u.is_tenant_admin)
        FROM public.divisions_user u WHERE u.id = acting_id
    );
END
$$;
"""

# Names (public schema unless qualified) of the functions above that 0003/0004 defined.
REPLACED = [
    "proone_enter",
    "proone_rls.verified_principal",
    "proone_principal",
    "proone_principal_kind",
    "proone_login_name",
    "proone_acting_system",
    "proone_acting_tenant",
    "proone_acting_tenant_admin",
    "proone_visible_divisions",
    "proone_managed_scopes",
    "proone_tenant_users",
    "proone_stored_user_guard",
]
# 0004 made these 0003 functions SECURITY DEFINER with ALTER FUNCTION.
MADE_DEFINER = ["proone_acting_tenant", "proone_acting_tenant_admin", "proone_visible_divisions"]


def _last_definition(name):
    """The newest CREATE statement of function `name` in 0004, else 0003, word for word."""
    qualified = name if "." in name else f"public.{name}"
    pattern = re.compile(
        r"CREATE (?:OR REPLACE )?FUNCTION " + re.escape(qualified) + r"\(.*?AS \$\$.*?\$\$;",
        re.DOTALL,
    )
    for source in (_0004.PRINCIPAL, _0003.PRINCIPAL + _0003.RULE):
        found = pattern.findall(source)
        if found:
            return found[-1]
    raise LookupError(name)


UNDO_FUNCTIONS = (
    "".join(
        re.sub(r"^CREATE (OR REPLACE )?FUNCTION", "CREATE OR REPLACE FUNCTION", _last_definition(n))
        + "\n"
        for n in REPLACED
    )
    + "".join(f"ALTER FUNCTION public.{name}() SECURITY DEFINER;\n" for name in MADE_DEFINER)
    + "DROP FUNCTION proone_rls.acting_user();\n"
)


class Migration(migrations.Migration):

    dependencies = [
        ("divisions", "0004_untrusted_app_role"),
    ]

    operations = [
        PostgresSQL(FUNCTIONS, UNDO_FUNCTIONS),
    ]
